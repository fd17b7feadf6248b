package api

import (
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"
)

type endpointStatsJSON struct {
	EndpointID     uuid.UUID  `json:"endpoint_id"`
	Attempts24h    int        `json:"attempts_24h"`
	Succeeded24h   int        `json:"succeeded_24h"`
	SuccessRate24h *float64   `json:"success_rate_24h"`
	LastStatusCode *int       `json:"last_status_code"`
	LastAttemptAt  *time.Time `json:"last_attempt_at"`
}

// endpointStats is an endpoint's health at a glance, for the portal's list.
func (s *server) endpointStats(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	st, err := s.st.EndpointStats(c.Request().Context(), e.TenantID, e.ID, time.Now().Add(-24*time.Hour))
	if err != nil {
		return err
	}
	out := endpointStatsJSON{EndpointID: e.ID, Attempts24h: st.Attempts, Succeeded24h: st.Succeeded,
		LastStatusCode: st.LastStatusCode, LastAttemptAt: st.LastAttemptAt}
	if st.Attempts > 0 {
		rate := float64(st.Succeeded) / float64(st.Attempts)
		out.SuccessRate24h = &rate
	}
	return c.JSON(http.StatusOK, out)
}
