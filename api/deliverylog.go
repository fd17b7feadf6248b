package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/store"
)

// deliveryEntryJSON is one delivery in the cross-tenant delivery list.
type deliveryEntryJSON struct {
	ID              uuid.UUID  `json:"id"`
	TenantID        string     `json:"tenant_id"`
	MessageID       uuid.UUID  `json:"message_id"`
	EndpointID      uuid.UUID  `json:"endpoint_id"`
	EndpointURL     string     `json:"endpoint_url"`
	EventType       string     `json:"event_type"`
	Status          string     `json:"status"`
	Attempts        int        `json:"attempts"`
	NextAttemptAt   *time.Time `json:"next_attempt_at"`
	LastStatusCode  *int       `json:"last_status_code"`
	LastError       *string    `json:"last_error"`
	LastErrorDetail string     `json:"last_error_detail"`
	LastAttemptAt   *time.Time `json:"last_attempt_at"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
}

func toDeliveryEntry(x store.DeliveryEntry) deliveryEntryJSON {
	d := x.Delivery
	out := deliveryEntryJSON{ID: d.ID, TenantID: d.TenantID, MessageID: d.MessageID, EndpointID: d.EndpointID,
		EndpointURL: x.EndpointURL, EventType: x.EventType, Status: d.Status, Attempts: d.Attempts,
		NextAttemptAt: d.NextAttemptAt, LastStatusCode: d.LastStatusCode, LastErrorDetail: x.LastError,
		LastAttemptAt: x.LastAttemptAt, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
	if x.LastErrorClass != "" {
		class := x.LastErrorClass
		out.LastError = &class
	}
	return out
}

// listDeliveries lists the deliveries of every tenant, newest first,
// filtered like a bulk replay.
func (s *server) listDeliveries(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	f := store.DeliveryFilter{TenantID: c.QueryParam("tenant_id"), EventType: c.QueryParam("event_type"),
		Status: c.QueryParam("status")}
	switch f.Status {
	case "", store.DeliveryPending, store.DeliverySucceeded, store.DeliveryFailed, store.DeliveryParked:
	default:
		return fieldErr("status", "must be pending, succeeded, failed or parked")
	}
	if f.TenantID != "" && !tenantIDPattern.MatchString(f.TenantID) {
		return fieldErr("tenant_id", "is not a valid tenant id")
	}
	if v := c.QueryParam("endpoint_id"); v != "" {
		if f.EndpointID, err = uuid.Parse(v); err != nil {
			return fieldErr("endpoint_id", "must be an id (a UUID)")
		}
	}
	if f.Since, err = timeParam(c, "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(c, "until"); err != nil {
		return err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return fieldErr("until", "must be after since")
	}
	rows, next, err := s.st.ListDeliveries(c.Request().Context(), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rows, next, toDeliveryEntry))
}
