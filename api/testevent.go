package api

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

type testEventBody struct {
	EventType string `json:"event_type"`
	// Version is the version whose example is sent; nil is the one the
	// endpoint would be sent (its pin, else the latest).
	Version *int `json:"version"`
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
	version := 0
	if body.Version != nil {
		if version = *body.Version; version < 1 || version > delivery.MaxVersion {
			return fieldErr("version", "must be a version from 1 to %d, or left out for the one the endpoint is sent", delivery.MaxVersion)
		}
	}
	now := time.Now()
	if ok, wait := s.testSends.take(id, now); !ok {
		secs := int(math.Ceil(wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(secs))
		return problem(http.StatusTooManyRequests, fmt.Sprintf(
			"endpoint %s was sent %d test events in the last minute, the most it may get; try again in %d seconds",
			id, s.cfg.TestSendsPerMinute, secs))
	}
	m, err := s.svc.SendTestVersion(c.Request().Context(), c.Param("tenant"), id, body.EventType, version)
	if err != nil {
		s.testSends.give(id, now)
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound(err, "endpoint %s", id)
	case errors.Is(err, delivery.ErrEndpointDisabled):
		return problem(http.StatusConflict, "endpoint "+id.String()+" is disabled; enable it to send it a test event")
	case errors.Is(err, delivery.ErrVersion):
		_, why, _ := strings.Cut(err.Error(), delivery.ErrVersion.Error()+": ")
		return fieldErr("version", "%s", why)
	case errors.Is(err, delivery.ErrEventType):
		return fieldErr("event_type", "%s is not a known event type, or it is archived; pick one of GET /api/v1/event-types",
			body.EventType)
	case err != nil:
		return err
	}
	return c.JSON(http.StatusAccepted, testEventJSON{MessageID: m.ID})
}
