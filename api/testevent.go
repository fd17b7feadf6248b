package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

type testEventBody struct {
	EventType string `json:"event_type"`
}

type testEventJSON struct {
	MessageID uuid.UUID `json:"message_id"`
}

// sendTestEvent publishes an event type's example to one endpoint only.
// Tenant keys and portal sessions may do it: it reaches nobody else.
func (s *server) sendTestEvent(c echo.Context) error {
	id, err := s.endpointParam(c)
	if err != nil {
		return err
	}
	var body testEventBody
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.EventType == "" {
		return fieldErr("event_type", "is required: which event type's example should be sent?")
	}
	now := time.Now()
	if ok, wait := s.testSends.take(id, now); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return problem(http.StatusTooManyRequests, fmt.Sprintf(
			"endpoint %s was sent %d test events in the last minute, the most it may get; try again in %d seconds",
			id, s.cfg.TestSendsPerMinute, secs))
	}
	m, err := s.svc.SendTest(c.Request().Context(), c.Param("tenant"), id, body.EventType)
	if err != nil {
		s.testSends.give(id, now)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound(err, "endpoint %s", id)
	case errors.Is(err, delivery.ErrEndpointDisabled):
		return problem(http.StatusConflict, "endpoint "+id.String()+" is disabled; enable it to send it a test event")
	case errors.Is(err, delivery.ErrEventType):
		return fieldErr("event_type", "%s is not a known event type, or it is archived; pick one of GET /api/v1/event-types",
			body.EventType)
	case err != nil:
		return err
	}
	return c.JSON(http.StatusAccepted, testEventJSON{MessageID: m.ID})
}
