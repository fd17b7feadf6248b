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
}

func msf(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func toAttempt(a store.Attempt) attemptJSON {
	out := attemptJSON{ID: a.ID, MessageID: a.MessageID, EndpointID: a.EndpointID, Attempt: a.Attempt, Trigger: a.Trigger,
		Status: a.Status, RequestHeaders: headerMap(a.RequestHeaders), ResponseHeaders: headerMap(a.ResponseHeaders),
		ResponseBody: bodyText(a.ResponseBody), ResponseBodyTruncated: a.BodyTruncated, ErrorDetail: a.Error,
		DurationMS: a.Duration.Milliseconds(), RemoteAddr: a.RemoteAddr, URL: a.URL, StartedAt: a.StartedAt,
		Timings: timingsJSON{DNS: msf(a.Timings.DNS), Connect: msf(a.Timings.Connect), TLS: msf(a.Timings.TLS), TTFB: msf(a.Timings.TTFB)}}
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
	f.Status = c.QueryParam("status")
	switch f.Status {
	case "", store.AttemptSucceeded, store.AttemptFailed:
	default:
		return fieldErr("status", "must be succeeded or failed")
	}
	rows, next, err := s.st.ListAttempts(c.Request().Context(), c.Param("tenant"), f, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rows, next, toAttempt))
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
