package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/store"
)

// failingEndpointJSON is an endpoint with why it is in trouble.
type failingEndpointJSON struct {
	endpointJSON
	LastStatusCode   *int       `json:"last_status_code"`
	LastError        *string    `json:"last_error"`
	LastErrorDetail  string     `json:"last_error_detail"`
	LastAttemptAt    *time.Time `json:"last_attempt_at"`
	ProblemAt        time.Time  `json:"problem_at"`
	FailedDeliveries int        `json:"failed_deliveries"`
}

func toFailingEndpoint(f store.FailingEndpoint) failingEndpointJSON {
	out := failingEndpointJSON{endpointJSON: toEndpoint(f.Endpoint), LastErrorDetail: f.LastError,
		LastAttemptAt: f.LastAttemptAt, ProblemAt: f.ProblemAt, FailedDeliveries: f.FailedDeliveries}
	if f.LastStatusCode != 0 {
		code := f.LastStatusCode
		out.LastStatusCode = &code
	}
	if f.LastErrorClass != "" {
		class := f.LastErrorClass
		out.LastError = &class
	}
	return out
}

// listFailingEndpoints lists the endpoints of every tenant that are
// disabled or in a run of failures, newest problem first, each with its
// health, circuit and parked count.
func (s *server) listFailingEndpoints(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	rows, next, err := s.st.FailingEndpoints(c.Request().Context(), p)
	if err != nil {
		return err
	}
	out := listOf(rows, next, toFailingEndpoint)
	eps := make([]endpointJSON, len(out.Data))
	for i := range out.Data {
		eps[i] = out.Data[i].endpointJSON
	}
	if err := s.withParked(c.Request().Context(), eps); err != nil {
		return err
	}
	for i := range out.Data {
		out.Data[i].ParkedCount = eps[i].ParkedCount
	}
	return c.JSON(http.StatusOK, out)
}
