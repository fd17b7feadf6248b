package api

import (
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/store"
)

type timingsJSON struct {
	DNS     float64 `json:"dns_ms"`
	Connect float64 `json:"connect_ms"`
	TLS     float64 `json:"tls_ms"`
	TTFB    float64 `json:"ttfb_ms"`
}

type attemptJSON struct {
	ID                    uuid.UUID           `json:"id"`
	MessageID             uuid.UUID           `json:"message_id"`
	EndpointID            uuid.UUID           `json:"endpoint_id"`
	Attempt               int                 `json:"attempt"`
	Trigger               string              `json:"trigger"`
	Status                string              `json:"status"`
	StatusCode            *int                `json:"status_code"`
	RequestHeaders        map[string][]string `json:"request_headers"`
	ResponseHeaders       map[string][]string `json:"response_headers"`
	ResponseBody          string              `json:"response_body"`
	ResponseBodyTruncated bool                `json:"response_body_truncated"`
	Error                 *string             `json:"error"`
	ErrorDetail           string              `json:"error_detail"`
	DurationMS            int64               `json:"duration_ms"`
	Timings               timingsJSON         `json:"timings"`
	RemoteAddr            string              `json:"remote_addr"`
	URL                   string              `json:"url"`
	StartedAt             time.Time           `json:"started_at"`
	// Expunged: the response body was removed with its message's content.
	Expunged bool `json:"expunged"`
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func toAttempt(a store.Attempt) attemptJSON {
	out := attemptJSON{ID: a.ID, MessageID: a.MessageID, EndpointID: a.EndpointID, Attempt: a.Attempt, Trigger: a.Trigger,
		Status: a.Status, RequestHeaders: headerMap(a.RequestHeaders), ResponseHeaders: headerMap(a.ResponseHeaders),
		ResponseBody: bodyText(a.ResponseBody), ResponseBodyTruncated: a.BodyTruncated, ErrorDetail: a.Error,
		DurationMS: a.Duration.Milliseconds(), RemoteAddr: a.RemoteAddr, URL: a.URL, StartedAt: a.StartedAt,
		Expunged: a.ExpungedAt != nil,
		Timings:  timingsJSON{DNS: msf(a.Timings.DNS), Connect: msf(a.Timings.Connect), TLS: msf(a.Timings.TLS), TTFB: msf(a.Timings.TTFB)}}
	if a.StatusCode != 0 {
		code := a.StatusCode
		out.StatusCode = &code
	}
	if a.ErrorClass != "" {
		class := a.ErrorClass
		out.Error = &class
	}
	return out
}

func headerMap(h map[string][]string) map[string][]string {
	if h == nil {
		return map[string][]string{}
	}
	return h
}

// bodyText shows a response body as text, replacing bytes that are not
// UTF-8 so that the JSON stays valid.
func bodyText(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return string([]rune(string(b)))
}

func (s *server) listAttempts(c echo.Context, f store.AttemptFilter) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	if err := attemptFilter(c, &f); err != nil {
		return err
	}
	rows, next, err := s.st.ListAttempts(c.Request().Context(), c.Param("tenant"), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rows, next, toAttempt))
}

// statusClasses are the values of ?status_class=.
var statusClasses = map[string]int{"2xx": 200, "3xx": 300, "4xx": 400, "5xx": 500, "error": store.StatusClassNone}

// attemptFilter reads the query parameters that narrow a list of attempts.
func attemptFilter(c echo.Context, f *store.AttemptFilter) error {
	f.Status = c.QueryParam("status")
	switch f.Status {
	case "", store.AttemptSucceeded, store.AttemptFailed:
	default:
		return fieldErr("status", "must be succeeded or failed")
	}
	if v := c.QueryParam("status_class"); v != "" {
		class, ok := statusClasses[v]
		if !ok {
			return fieldErr("status_class", "must be 2xx, 3xx, 4xx, 5xx, or error (no HTTP answer)")
		}
		f.StatusClass = class
	}
	if f.EventType = c.QueryParam("event_type"); f.EventType != "" && !isEventTypeName(f.EventType) {
		return fieldErr("event_type", "%s is not an event type name", quoteShort(f.EventType))
	}
	var err error
	if f.Since, err = timeParam(c, "since"); err != nil {
		return err
	}
	if f.Until, err = timeParam(c, "until"); err != nil {
		return err
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return fieldErr("until", "must be after since")
	}
	return nil
}

func (s *server) endpointAttempts(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	return s.listAttempts(c, store.AttemptFilter{EndpointID: e.ID})
}

func (s *server) messageAttempts(c echo.Context) error {
	id, err := s.messageParam(c)
	if err != nil {
		return err
	}
	if _, err := s.st.GetMessage(c.Request().Context(), c.Param("tenant"), id); err != nil {
		return notFound(err, "message %s", id)
	}
	return s.listAttempts(c, store.AttemptFilter{MessageID: id})
}

// getAttempt reads one attempt of the tenant's.
func (s *server) getAttempt(c echo.Context) error {
	id, err := uuid.Parse(c.Param("attempt"))
	if err != nil {
		return problem(http.StatusNotFound, "attempt "+quoteShort(c.Param("attempt"))+" not found")
	}
	a, err := s.st.GetAttempt(c.Request().Context(), c.Param("tenant"), id)
	if err != nil {
		return notFound(err, "attempt %s", id)
	}
	return c.JSON(http.StatusOK, toAttempt(a))
}
