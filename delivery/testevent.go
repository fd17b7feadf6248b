package delivery

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/store"
)

// ErrEndpointDisabled is returned by SendTest for a disabled endpoint:
// nothing is sent to it until it is enabled again.
var ErrEndpointDisabled = errors.New("endpoint is disabled")

// SendTest publishes a test message to one endpoint only: a new message of
// eventType whose payload is the event type's example (or {} when it has
// none), with a delivery to that endpoint and no other, whatever its event
// type and channel filters say. The message, its delivery and the deliver
// job are stored in one transaction.
//
// It returns an error wrapping store.ErrNotFound when the tenant has no such
// endpoint, ErrEndpointDisabled when the endpoint is disabled, and
// ErrEventType when eventType is unknown or archived.
func (s *Service) SendTest(ctx context.Context, tenant string, endpoint uuid.UUID, eventType string) (store.Message, error) {
	var out store.Message
	err := s.store.InTx(ctx, func(tx pgx.Tx) error {
		st := s.store.WithTx(tx)
		e, err := st.GetEndpoint(ctx, tenant, endpoint)
		if err != nil {
			return err
		}
		if e.Disabled {
			return ErrEndpointDisabled
		}
		et, err := st.GetEventType(ctx, eventType)
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("%w: %s is not a known event type", ErrEventType, eventType)
		}
		if err != nil {
			return err
		}
		if et.Archived {
			return fmt.Errorf("%w: %s is archived", ErrEventType, eventType)
		}
		payload := et.Example
		if len(payload) == 0 {
			payload = []byte("{}")
		}
		out, _, err = st.InsertMessage(ctx, store.Message{TenantID: tenant, EventType: et.Name, Payload: payload})
		if err != nil {
			return err
		}
		return s.insertDeliveries(ctx, tx, out, []uuid.UUID{e.ID}, nil, 0)
	})
	if err != nil {
		return store.Message{}, fmt.Errorf("send test to %s: %w", endpoint, err)
	}
	return out, nil
}
