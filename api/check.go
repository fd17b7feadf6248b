package api

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// The receiver self-check (delivery/check.go): POST .../check starts one
// and answers 202 with it running; GET .../checks/{check} shows its rows as
// they are judged. Tenant keys and portal sessions may run it: it reaches
// only the tenant's own endpoint.

type checkStartBody struct {
	EventType string `json:"event_type"`
}

// checkAttemptJSON is one request of a check and its answer, shaped as an
// attempt of the attempt log.
type checkAttemptJSON struct {
	Trigger               string              `json:"trigger"`
	URL                   string              `json:"url"`
	RequestHeaders        map[string][]string `json:"request_headers"`
	StatusCode            *int                `json:"status_code"`
	ResponseHeaders       map[string][]string `json:"response_headers"`
	ResponseBody          string              `json:"response_body"`
	ResponseBodyTruncated bool                `json:"response_body_truncated"`
	Error                 *string             `json:"error"`
	ErrorDetail           string              `json:"error_detail"`
	DurationMS            int64               `json:"duration_ms"`
	Timings               timingsJSON         `json:"timings"`
	RemoteAddr            string              `json:"remote_addr"`
	StartedAt             time.Time           `json:"started_at"`
}

type checkResultJSON struct {
	Name    string            `json:"name"`
	Title   string            `json:"title"`
	Sent    string            `json:"sent"`
	Expects string            `json:"expects"`
	Verdict string            `json:"verdict"`
	Got     string            `json:"got"`
	Fix     string            `json:"fix"`
	Attempt *checkAttemptJSON `json:"attempt"`
}

type checkJSON struct {
	ID         uuid.UUID         `json:"id"`
	EndpointID uuid.UUID         `json:"endpoint_id"`
	URL        string            `json:"url"`
	Status     string            `json:"status"`
	Verdict    *string           `json:"verdict"`
	Error      string            `json:"error"`
	EventType  *string           `json:"event_type"`
	Payload    string            `json:"payload"`
	WebhookID  string            `json:"webhook_id"`
	CreatedAt  time.Time         `json:"created_at"`
	FinishedAt *time.Time        `json:"finished_at"`
	Results    []checkResultJSON `json:"results"`
}

// verdictPending is the verdict of a row not judged yet.
const verdictPending = "pending"

// toCheck shows every row of the report in order, pending ones included,
// and the overall verdict (the worst row's) once the check has finished.
func toCheck(c store.Check) checkJSON {
	out := checkJSON{ID: c.ID, EndpointID: c.EndpointID, URL: c.URL, Status: c.Status, Error: c.Error,
		Payload: bodyText(c.Payload), WebhookID: c.WebhookID, CreatedAt: c.CreatedAt, FinishedAt: c.FinishedAt}
	if c.EventType != "" {
		out.EventType = &c.EventType
	}
	byName := make(map[string]store.CheckResult, len(c.Results))
	for _, r := range c.Results {
		byName[r.Name] = r
	}
	worst := store.VerdictPass
	rank := map[string]int{store.VerdictPass: 0, store.VerdictWarn: 1, store.VerdictFail: 2}
	for _, spec := range delivery.CheckSpecs() {
		row := checkResultJSON{Name: spec.Name, Title: spec.Title, Sent: spec.Sends, Expects: spec.Expects, Verdict: verdictPending}
		if r, ok := byName[spec.Name]; ok {
			row.Verdict, row.Got, row.Fix = r.Verdict, r.Got, r.Fix
			if r.Sent != "" {
				row.Sent = r.Sent
			}
			a := toCheckAttempt(r.Attempt)
			row.Attempt = &a
			if rank[r.Verdict] > rank[worst] {
				worst = r.Verdict
			}
		}
		out.Results = append(out.Results, row)
	}
	if c.Status == store.CheckFinished {
		out.Verdict = &worst
	}
	return out
}

func toCheckAttempt(a store.Attempt) checkAttemptJSON {
	out := checkAttemptJSON{Trigger: store.TriggerCheck, URL: a.URL, RequestHeaders: headerMap(a.RequestHeaders),
		ResponseHeaders: headerMap(a.ResponseHeaders), ResponseBody: bodyText(a.ResponseBody),
		ResponseBodyTruncated: a.BodyTruncated, ErrorDetail: a.Error, DurationMS: a.Duration.Milliseconds(),
		RemoteAddr: a.RemoteAddr, StartedAt: a.StartedAt,
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

// startCheck starts a receiver self-check of one endpoint.
func (s *server) startCheck(c echo.Context) error {
	id, err := s.endpointParam(c)
	if err != nil {
		return err
	}
	var body checkStartBody
	if err := bindOptional(c, &body); err != nil {
		return err
	}
	if body.EventType != "" && (len(body.EventType) > 256 || !eventTypePattern.MatchString(body.EventType)) {
		return fieldErr("event_type", "is not an event type name; name one of GET /api/v1/event-types, or leave it out")
	}
	chk, err := s.svc.StartCheck(c.Request().Context(), c.Param("tenant"), id, body.EventType)
	var soon *store.CheckTooSoonError
	switch {
	case errors.Is(err, store.ErrNotFound):
		return notFound(err, "endpoint %s", id)
	case errors.Is(err, delivery.ErrEventType):
		return fieldErr("event_type", "%s is not a known event type, or it is archived; pick one of GET /api/v1/event-types",
			body.EventType)
	case errors.As(err, &soon):
		wait := int(math.Ceil(soon.Wait.Seconds()))
		c.Response().Header().Set("Retry-After", strconv.Itoa(wait))
		detail := fmt.Sprintf("endpoint %s was checked less than a minute ago; run the next check in %d s", id, wait)
		if soon.Running {
			detail = fmt.Sprintf("a check of endpoint %s is still running; wait for it (GET its checks) and run the next in %d s", id, wait)
		}
		return problem(http.StatusTooManyRequests, detail)
	case err != nil:
		return err
	}
	c.Response().Header().Set("Location", "/api/v1/tenants/"+c.Param("tenant")+"/endpoints/"+id.String()+"/checks/"+chk.ID.String())
	return c.JSON(http.StatusAccepted, toCheck(chk))
}

// bindOptional binds a JSON body like bind, and leaves v as it is when the
// request has no body at all.
func bindOptional(c echo.Context, v any) error {
	req := c.Request()
	if req.Body == nil || req.ContentLength == 0 {
		return nil
	}
	raw, err := io.ReadAll(req.Body)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit))
	}
	if err != nil {
		return problem(http.StatusBadRequest, "the request body could not be read")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	req.Body = io.NopCloser(bytes.NewReader(raw))
	return bind(c, v)
}

// listChecks lists an endpoint's checks, newest first.
func (s *server) listChecks(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	rows, next, err := s.st.ListChecks(c.Request().Context(), c.Param("tenant"), e.ID, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rows, next, toCheck))
}

// getCheck reads one check with its rows so far.
func (s *server) getCheck(c echo.Context) error {
	endpoint, err := s.endpointParam(c)
	if err != nil {
		return err
	}
	id, err := uuid.Parse(c.Param("check"))
	if err != nil {
		return problem(http.StatusNotFound, "check "+c.Param("check")+" not found")
	}
	chk, err := s.st.GetCheck(c.Request().Context(), c.Param("tenant"), endpoint, id)
	if err != nil {
		return notFound(err, "check %s of endpoint %s", id, endpoint)
	}
	return c.JSON(http.StatusOK, toCheck(chk))
}
