package delivery

import (
	"net/http"
	"strings"
)

// Redacted stands for the value of a secret header wherever hookd shows
// one: the attempt log and the API's endpoints.
const Redacted = "[redacted]"

// credentialHeaders are the header names whose values are always secret,
// in lower case. Migration 0004 applies the same rule to attempts logged
// before it.
var credentialHeaders = map[string]bool{
	"authorization": true, "cookie": true, "proxy-authorization": true, "x-api-key": true,
}

// IsSecretHeader reports whether the value of the header name is never
// shown: Authorization, Cookie, Proxy-Authorization, X-Api-Key, any name
// ending in -token, -key or -secret, and any name in marked (an
// endpoint's secret_headers). Names compare without regard to case.
func IsSecretHeader(name string, marked []string) bool {
	n := strings.ToLower(name)
	if credentialHeaders[n] || strings.HasSuffix(n, "-token") || strings.HasSuffix(n, "-key") ||
		strings.HasSuffix(n, "-secret") {
		return true
	}
	for _, m := range marked {
		if strings.EqualFold(m, name) {
			return true
		}
	}
	return false
}

// RedactHeaders returns a copy of an endpoint's custom headers with the
// value of every secret header (see [IsSecretHeader]) replaced by
// [Redacted].
func RedactHeaders(h map[string]string, marked []string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if IsSecretHeader(k, marked) {
			v = Redacted
		}
		out[k] = v
	}
	return out
}

// redacted copies request headers for the attempt log without the
// signatures, which are as good as a password for the current timestamp,
// and without the values of secret headers.
func redacted(h http.Header, marked []string) http.Header {
	out := h.Clone()
	for k, vs := range out {
		if strings.EqualFold(k, "webhook-signature") || IsSecretHeader(k, marked) {
			for i := range vs {
				vs[i] = Redacted
			}
		}
	}
	return out
}
