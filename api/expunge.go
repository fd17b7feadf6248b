package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
)

// A message's own retention and the removal of its content: what a
// publisher needs to honour a customer's request to erase data sooner
// than the global retention would.

// parseRetention reads a publish's "retention": a number of seconds, or a
// string of a number and a unit (s, m, h, d), like "7d" or "36h". Absent
// or null is 0: the global retention.
func parseRetention(raw json.RawMessage) (time.Duration, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	bad := fmt.Errorf("must be a number of seconds or a string like \"7d\", \"12h\", \"30m\" (%s to %d days)",
		delivery.MinRetention, int(delivery.MaxRetention/(24*time.Hour)))
	var d time.Duration
	var seconds float64
	var text string
	switch {
	case json.Unmarshal(raw, &seconds) == nil:
		if seconds < 0 || seconds > delivery.MaxRetention.Seconds() {
			return 0, bad
		}
		d = time.Duration(seconds * float64(time.Second))
	case json.Unmarshal(raw, &text) == nil:
		units := map[byte]time.Duration{'s': time.Second, 'm': time.Minute, 'h': time.Hour, 'd': 24 * time.Hour}
		text = strings.TrimSpace(text)
		if len(text) < 2 || len(text) > 12 {
			return 0, bad
		}
		unit, ok := units[text[len(text)-1]]
		n, err := strconv.ParseUint(text[:len(text)-1], 10, 32)
		if !ok || err != nil || time.Duration(n) > delivery.MaxRetention/unit {
			return 0, bad
		}
		d = time.Duration(n) * unit
	default:
		return 0, bad
	}
	if d < delivery.MinRetention || d > delivery.MaxRetention {
		return 0, bad
	}
	return d, nil
}

// expungeMessage removes a message's payloads and its attempts' response
// bodies; its metadata stays, marked expunged. Admin keys only.
func (s *server) expungeMessage(c echo.Context) error {
	id, err := s.messageParam(c)
	if err != nil {
		return err
	}
	m, err := s.st.ExpungeMessage(c.Request().Context(), c.Param("tenant"), id)
	if err != nil {
		return notFound(err, "message %s", id)
	}
	return c.JSON(http.StatusOK, toMessage(m))
}
