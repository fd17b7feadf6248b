package delivery

import (
	"strings"

	"github.com/hookd/hookd/store"
)

// Matches tells whether endpoint e wants a message of eventType on
// channels. An empty filter wants everything; "invoice.*" wants every event
// type under "invoice."; an endpoint with channels wants messages that share
// at least one of them. Whether e is disabled does not count here: a
// disabled endpoint's matches are parked for it.
func Matches(e store.Endpoint, eventType string, channels []string) bool {
	if len(e.EventTypes) > 0 && !matchesEventType(e.EventTypes, eventType) {
		return false
	}
	if len(e.Channels) == 0 {
		return true
	}
	for _, want := range e.Channels {
		for _, c := range channels {
			if want == c {
				return true
			}
		}
	}
	return false
}

func matchesEventType(filters []string, eventType string) bool {
	for _, f := range filters {
		if f == eventType || f == "*" {
			return true
		}
		if prefix, ok := strings.CutSuffix(f, "*"); ok && strings.HasSuffix(prefix, ".") &&
			strings.HasPrefix(eventType, prefix) {
			return true
		}
	}
	return false
}
