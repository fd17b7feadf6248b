package api

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// riverStates are River's job states, in the order the console shows them.
var riverStates = []string{"available", "running", "scheduled", "retryable", "pending", "completed", "cancelled", "discarded"}

type queueJSON struct {
	Name   string         `json:"name"`
	Counts map[string]int `json:"counts"`
	// OldestAvailableAt is when the longest-waiting available job became due.
	OldestAvailableAt  *time.Time `json:"oldest_available_at"`
	OldestAvailableAge *float64   `json:"oldest_available_age_seconds"`
}

type queuesJSON struct {
	Queues []queueJSON `json:"queues"`
	At     time.Time   `json:"at"`
}

// getQueue reports River's jobs by queue and state.
func (s *server) getQueue(c echo.Context) error {
	stats, now, err := s.st.QueueStats(c.Request().Context())
	if err != nil {
		return err
	}
	out := queuesJSON{Queues: make([]queueJSON, len(stats)), At: now}
	for i, q := range stats {
		counts := make(map[string]int, len(riverStates))
		for _, st := range riverStates {
			counts[st] = q.Counts[st]
		}
		j := queueJSON{Name: q.Name, Counts: counts, OldestAvailableAt: q.OldestAvailable}
		if q.OldestAvailable != nil {
			age := max(now.Sub(*q.OldestAvailable).Seconds(), 0)
			j.OldestAvailableAge = &age
		}
		out.Queues[i] = j
	}
	return c.JSON(http.StatusOK, out)
}
