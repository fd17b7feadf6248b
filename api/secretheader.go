package api

import (
	"fmt"
	"strings"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// applySecretHeaders writes the body's secret_headers onto e, and gives
// back its stored value to every header that the body sends as
// "[redacted]": a client that read the endpoint, which shows secret values
// only as "[redacted]", can send its headers back unchanged without wiping
// them. stored is the endpoint's headers before the change (nil on
// create). It runs after applyEndpoint, which has validated the headers.
func applySecretHeaders(b endpointBody, stored map[string]string, e *store.Endpoint) error {
	var errs []FieldError
	bad := func(field, msg string) { errs = append(errs, FieldError{Field: field, Message: msg}) }
	if b.SecretHeaders != nil {
		names := *b.SecretHeaders
		if len(names) > maxCustomHeaders {
			bad("secret_headers", fmt.Sprintf("at most %d names", maxCustomHeaders))
		}
		seen := make(map[string]bool, len(names))
		list := make([]string, 0, len(names))
		for _, n := range names {
			if !headerNamePattern.MatchString(n) {
				bad("secret_headers", "'"+n+"' is not a valid header name")
				continue
			}
			if !seen[strings.ToLower(n)] {
				seen[strings.ToLower(n)] = true
				list = append(list, n)
			}
		}
		e.SecretHeaders = list
	}
	if b.Headers != nil {
		for k, v := range e.Headers {
			if v != delivery.Redacted {
				continue
			}
			old, ok := headerValue(stored, k)
			if !ok {
				bad("headers", "'"+k+"' is "+delivery.Redacted+", which keeps the value it has, and it has none yet: send its value")
				continue
			}
			e.Headers[k] = old
		}
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

// headerValue looks name up in h: by its exact spelling, else without
// regard to case, as HTTP compares header names.
func headerValue(h map[string]string, name string) (string, bool) {
	if v, ok := h[name]; ok {
		return v, true
	}
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return "", false
}
