package delivery

import (
	"context"
	"errors"

	"github.com/google/uuid"

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
// ErrEventType when eventType is unknown or archived. The example is of the
// version the endpoint pins, else of the latest (see SendTestVersion).
func (s *Service) SendTest(ctx context.Context, tenant string, endpoint uuid.UUID, eventType string) (store.Message, error) {
	return s.SendTestVersion(ctx, tenant, endpoint, eventType, 0) // the version it would be sent: version.go
}
