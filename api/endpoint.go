package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

type endpointJSON struct {
	ID              uuid.UUID         `json:"id"`
	TenantID        string            `json:"tenant_id"`
	URL             string            `json:"url"`
	Description     string            `json:"description"`
	EventTypes      []string          `json:"event_types"`
	Channels        []string          `json:"channels"`
	Headers         map[string]string `json:"headers"` // secret values redacted
	SecretHeaders   []string          `json:"secret_headers"`
	RateLimit       *int              `json:"rate_limit"`
	SignatureScheme string            `json:"signature_scheme"`
	Disabled        bool              `json:"disabled"`
	DisabledReason  string            `json:"disabled_reason"`
	Metadata        json.RawMessage   `json:"metadata"`
	CreatedAt       time.Time         `json:"created_at"`
	UpdatedAt       time.Time         `json:"updated_at"`
	DisabledAt      *time.Time        `json:"disabled_at"`
	MaxInFlight     *int              `json:"max_in_flight"`
	Health          healthJSON        `json:"health"`
	Circuit         circuitJSON       `json:"circuit"`
	// ParkedCount is how many deliveries wait for it to be enabled and
	// sent (PATCH with send_parked).
	ParkedCount int `json:"parked_count"`
	// ForwardTraceContext sends each attempt's traceparent to the receiver.
	ForwardTraceContext bool `json:"forward_trace_context"`
	// VersionPins: the version of each event type it is sent (version.go).
	VersionPins map[string]int `json:"version_pins"`
}

// healthJSON is an endpoint's health: healthy, failing (every attempt has
// failed since Since, for at least HOOKD_FAILING_AFTER) or disabled.
type healthJSON struct {
	State         string     `json:"state"`
	Since         *time.Time `json:"since"`
	FailingSince  *time.Time `json:"failing_since"`
	LastError     string     `json:"last_error"`
	LastFailureAt *time.Time `json:"last_failure_at"`
}

// circuitJSON is the last circuit-breaker transition a worker recorded.
type circuitJSON struct {
	State  string     `json:"state"`
	Since  *time.Time `json:"since"`
	Reason string     `json:"reason"`
}

// toEndpoint is the wire form of e. The values of secret headers (see
// delivery.IsSecretHeader) never leave hookd: they read "[redacted]".
func toEndpoint(e store.Endpoint) endpointJSON {
	out := endpointJSONOf(e)
	h := e.Health(time.Now(), failingAfter)
	out.Health = healthJSON{State: h, FailingSince: e.FailingSince, LastError: e.LastError, LastFailureAt: e.LastFailureAt}
	switch h {
	case store.HealthDisabled:
		out.Health.Since = e.DisabledAt
	case store.HealthFailing:
		out.Health.Since = e.FailingSince
	}
	if e.LastFailureAt == nil {
		out.Health.LastError = ""
	}
	out.Circuit = circuitJSON{State: cmp.Or(e.Circuit, store.CircuitClosed), Since: e.CircuitSince, Reason: e.CircuitReason}
	out.DisabledAt, out.MaxInFlight = e.DisabledAt, e.MaxInFlight
	return out
}

// failingAfter is HOOKD_FAILING_AFTER, for the health the API reports; the
// server sets it from its Config.
var failingAfter = delivery.DefaultFailingAfter

// withParked fills in the parked counts of endpoints.
func (s *server) withParked(ctx context.Context, eps []endpointJSON) error {
	ids := make([]uuid.UUID, len(eps))
	for i, e := range eps {
		ids[i] = e.ID
	}
	counts, err := s.svc.ParkedCounts(ctx, ids)
	if err != nil {
		return err
	}
	for i := range eps {
		eps[i].ParkedCount = counts[eps[i].ID]
	}
	return nil
}

// endpointAnswer is the wire form of one endpoint, with its parked count.
func (s *server) endpointAnswer(c echo.Context, status int, e store.Endpoint) error {
	out := []endpointJSON{toEndpoint(e)}
	if err := s.withParked(c.Request().Context(), out); err != nil {
		return err
	}
	return c.JSON(status, out[0])
}

func endpointJSONOf(e store.Endpoint) endpointJSON {
	return endpointJSON{ID: e.ID, TenantID: e.TenantID, URL: e.URL, Description: e.Description,
		EventTypes: nonNil(e.EventTypes), Channels: nonNil(e.Channels),
		Headers: delivery.RedactHeaders(e.Headers, e.SecretHeaders), SecretHeaders: nonNil(e.SecretHeaders), RateLimit: e.RateLimit,
		SignatureScheme: e.SignatureScheme, Disabled: e.Disabled, DisabledReason: e.DisabledReason,
		Metadata: rawObject(e.Metadata), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		ForwardTraceContext: e.ForwardTraceContext, VersionPins: pinsOf(e)}
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// endpointBody is the body of create and PATCH; nil fields are left alone.
type endpointBody struct {
	URL             *string            `json:"url"`
	Description     *string            `json:"description"`
	EventTypes      *[]string          `json:"event_types"`
	Channels        *[]string          `json:"channels"`
	Headers         *map[string]string `json:"headers"`
	SecretHeaders   *[]string          `json:"secret_headers"`
	RateLimit       json.RawMessage    `json:"rate_limit"`
	Disabled        *bool              `json:"disabled"`
	DisabledReason  *string            `json:"disabled_reason"`
	Metadata        json.RawMessage    `json:"metadata"`
	Secret          *string            `json:"secret"`
	SignatureScheme *string            `json:"signature_scheme"`
	MaxInFlight     json.RawMessage    `json:"max_in_flight"`
	SendParked      *bool              `json:"send_parked"`
	// ForwardTraceContext: see endpointJSON.
	ForwardTraceContext *bool   `json:"forward_trace_context"`
	BackfillSince       *string `json:"backfill_since"` // create only: backfill.go
	// VersionPins replaces the pins; null clears them (version.go).
	VersionPins json.RawMessage `json:"version_pins"`
}

var (
	channelPattern     = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)
	headerNamePattern  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
	eventFilterPattern = regexp.MustCompile(`^([A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*(\.\*)?|\*)$`)
)

// apply validates the body and writes it onto e, collecting every field
// at fault.
func (s *server) applyEndpoint(b endpointBody, e *store.Endpoint) error {
	var errs []FieldError
	bad := func(field, msg string) { errs = append(errs, FieldError{Field: field, Message: msg}) }
	if b.URL != nil {
		if len(*b.URL) > maxURLLen {
			bad("url", fmt.Sprintf("must be at most %d bytes", maxURLLen))
		} else if err := delivery.ValidateURL(*b.URL, s.cfg.HTTPSOnly); err != nil {
			bad("url", strings.TrimPrefix(err.Error(), "invalid endpoint url: "))
		}
		e.URL = *b.URL
	}
	if b.Description != nil {
		if len(*b.Description) > maxDescription {
			bad("description", fmt.Sprintf("must be at most %d bytes", maxDescription))
		}
		e.Description = *b.Description
	}
	if b.EventTypes != nil {
		if len(*b.EventTypes) > maxFilters {
			bad("event_types", fmt.Sprintf("at most %d filters", maxFilters))
		} else {
			for _, f := range *b.EventTypes {
				if len(f) > maxFilterLen || !eventFilterPattern.MatchString(f) {
					bad("event_types", quoteShort(f)+" is not an event type name or a prefix like invoice.*")
				}
			}
		}
		e.EventTypes = *b.EventTypes
	}
	if b.Channels != nil {
		if msg := checkChannels(*b.Channels); msg != "" {
			bad("channels", msg)
		}
		e.Channels = *b.Channels
	}
	if b.Headers != nil {
		if len(*b.Headers) > maxCustomHeaders {
			bad("headers", fmt.Sprintf("at most %d custom headers", maxCustomHeaders))
		}
		for k, v := range *b.Headers {
			if len(v) > maxHeaderValue {
				bad("headers", fmt.Sprintf("the value of '%s' is longer than %d bytes", k, maxHeaderValue))
			}
			switch {
			case !headerNamePattern.MatchString(k):
				bad("headers", "'"+k+"' is not a valid header name")
			case reserved(k):
				bad("headers", "'"+k+"' is set by hookd and cannot be overridden")
			case strings.ContainsAny(v, "\r\n"):
				bad("headers", "the value of '"+k+"' has a line break")
			}
		}
		e.Headers = *b.Headers
	}
	if b.RateLimit != nil { // present: null clears it
		if isNull(b.RateLimit) {
			e.RateLimit = nil
		} else if n, err := strconv.Atoi(string(b.RateLimit)); err != nil || n < 1 || n > maxRateLimit {
			bad("rate_limit", fmt.Sprintf("must be a whole number from 1 to %d (messages per second), or null", maxRateLimit))
		} else {
			e.RateLimit = &n
		}
	}
	if b.MaxInFlight != nil { // present: null clears it
		if isNull(b.MaxInFlight) {
			e.MaxInFlight = nil
		} else if n, err := strconv.Atoi(string(b.MaxInFlight)); err != nil || n < 1 || n > 1000 {
			bad("max_in_flight", "must be a whole number from 1 to 1000 (attempts at once per worker process), or null")
		} else {
			e.MaxInFlight = &n
		}
	}
	if b.Disabled != nil {
		e.Disabled = *b.Disabled
		if !e.Disabled {
			e.DisabledReason = ""
		} else if e.DisabledReason == "" {
			e.DisabledReason = "disabled through the API"
		}
	}
	if b.DisabledReason != nil {
		if len(*b.DisabledReason) > maxDisabledReason {
			bad("disabled_reason", fmt.Sprintf("must be at most %d bytes", maxDisabledReason))
		}
		e.DisabledReason = *b.DisabledReason
	}
	if b.Metadata != nil {
		switch {
		case isNull(b.Metadata):
			e.Metadata = nil // null clears it
		case !isObject(b.Metadata):
			bad("metadata", "must be a JSON object")
		case len(b.Metadata) > maxMetadataBytes:
			bad("metadata", fmt.Sprintf("must be at most %d bytes of JSON", maxMetadataBytes))
		default:
			e.Metadata = b.Metadata
		}
	}
	if b.ForwardTraceContext != nil {
		e.ForwardTraceContext = *b.ForwardTraceContext
	}
	if e.TenantID == store.OperationalTenant {
		errs = append(errs, operationalEndpointErrors(b)...)
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

// checkChannels says what is wrong with a list of channels, or "".
func checkChannels(chs []string) string {
	if len(chs) > maxChannels {
		return fmt.Sprintf("at most %d channels", maxChannels)
	}
	for _, c := range chs {
		if !channelPattern.MatchString(c) {
			return quoteShort(c) + " must be 1 to 128 characters of letters, digits and . _ : -"
		}
	}
	return ""
}

// Custom headers go out with every attempt and are kept with it.
const (
	maxCustomHeaders = 50
	maxHeaderValue   = 4 << 10
)

func reserved(h string) bool {
	switch strings.ToLower(h) {
	case "webhook-id", "webhook-timestamp", "webhook-signature", "webhook-check", delivery.VersionHeader, "content-type", "user-agent", "host",
		"content-length", "transfer-encoding", "connection":
		return true
	}
	return false
}

func (s *server) createEndpoint(c echo.Context) error {
	tenant := c.Param("tenant")
	var body endpointBody
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.URL == nil {
		return fieldErr("url", "is required")
	}
	e := store.Endpoint{TenantID: tenant, SignatureScheme: "v1"}
	if err := s.applyEndpoint(body, &e); err != nil {
		return err
	}
	if err := applySecretHeaders(body, nil, &e); err != nil {
		return err
	}
	if err := s.applyVersionPins(c.Request().Context(), body.VersionPins, &e, nil); err != nil {
		return err
	}
	if body.SignatureScheme != nil {
		switch *body.SignatureScheme {
		case "v1", "v1a":
			e.SignatureScheme = *body.SignatureScheme
		default:
			return fieldErr("signature_scheme", "must be v1 (HMAC-SHA256) or v1a (ed25519)")
		}
	}
	secret, err := newKey(e.SignatureScheme, body.Secret)
	if err != nil {
		return err
	}
	out, backfill, err := s.storeNewEndpoint(c, e, secret, body.BackfillSince)
	if errors.Is(err, store.ErrTooMany) {
		return problem(http.StatusUnprocessableEntity, fmt.Sprintf(
			"tenant %s has %d endpoints, the most a tenant may have; delete one to add another", tenant, s.cfg.MaxEndpointsPerTenant))
	}
	if err != nil {
		return notFound(err, "tenant %s", tenant)
	}
	s.notify(c, endpointEvent(delivery.EventEndpointCreated, out))
	created := []endpointJSON{toEndpoint(out)}
	if err := s.withParked(c.Request().Context(), created); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, createdEndpoint{endpointJSON: created[0], Backfill: backfill})
}

// newKey returns the given secret, validated, or a new one for the scheme.
func newKey(scheme string, given *string) (string, error) {
	if scheme == "v1a" {
		if given != nil {
			return "", fieldErr("secret", "cannot be given for a v1a endpoint: hookd makes its private key and shows only the public key")
		}
		priv, _, err := delivery.GenerateKeyPair()
		return priv, err
	}
	if given != nil {
		if err := delivery.ValidateSecret(*given); err != nil {
			return "", fieldErr("secret", "must be whsec_ followed by the base64 of 24 to 64 random bytes")
		}
		return *given, nil
	}
	return delivery.GenerateSecret()
}

func (s *server) endpointParam(c echo.Context) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param("endpoint"))
	if err != nil {
		return uuid.Nil, problem(http.StatusNotFound, "endpoint "+c.Param("endpoint")+" not found")
	}
	return id, nil
}

func (s *server) loadEndpoint(c echo.Context) (store.Endpoint, error) {
	id, err := s.endpointParam(c)
	if err != nil {
		return store.Endpoint{}, err
	}
	e, err := s.st.GetEndpoint(c.Request().Context(), c.Param("tenant"), id)
	if err != nil {
		return store.Endpoint{}, notFound(err, "endpoint %s", id)
	}
	return e, nil
}

func (s *server) listEndpoints(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	rows, next, err := s.st.ListEndpoints(c.Request().Context(), c.Param("tenant"), p)
	if err != nil {
		return err
	}
	out := listOf(rows, next, toEndpoint)
	if err := s.withParked(c.Request().Context(), out.Data); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

func (s *server) getEndpoint(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	return s.endpointAnswer(c, http.StatusOK, e)
}

func (s *server) patchEndpoint(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	var body endpointBody
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.Secret != nil || body.SignatureScheme != nil {
		return fieldErr("secret", "cannot be changed by PATCH; use POST .../secret/rotate")
	}
	if body.BackfillSince != nil {
		return fieldErr("backfill_since", "is for new endpoints; send past messages with POST .../backfill")
	}
	before := e
	wasDisabled := e.Disabled
	stored := e.Headers
	if err := s.applyEndpoint(body, &e); err != nil {
		return err
	}
	if err := applySecretHeaders(body, stored, &e); err != nil {
		return err
	}
	if err := s.applyVersionPins(c.Request().Context(), body.VersionPins, &e, before.VersionPins); err != nil {
		return err
	}
	if body.SendParked != nil && *body.SendParked && e.Disabled {
		return fieldErr("send_parked", "the endpoint is disabled; enable it in the same request (\"disabled\": false) to send what it missed")
	}
	out, err := s.st.UpdateEndpoint(c.Request().Context(), e)
	if err != nil {
		return notFound(err, "endpoint %s", e.ID)
	}
	ctx := c.Request().Context()
	switch {
	case !wasDisabled && out.Disabled:
		// What it was still retrying waits, parked, with what comes next.
		if _, err := s.st.ParkPending(ctx, out.ID); err != nil {
			return err
		}
	case wasDisabled && !out.Disabled:
		// Anything left pending without a job (from before parking) goes on.
		if _, err := s.svc.ResumeEndpoint(ctx, out.ID); err != nil {
			return err
		}
	}
	if body.SendParked != nil && *body.SendParked {
		if _, err := s.svc.SendParked(ctx, out.TenantID, out.ID); err != nil {
			return err
		}
	}
	s.notifyUpdated(c, before, out)
	return s.endpointAnswer(c, http.StatusOK, out)
}

func (s *server) deleteEndpoint(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	if err := s.st.DeleteEndpoint(c.Request().Context(), e.TenantID, e.ID); err != nil {
		return notFound(err, "endpoint %s", e.ID)
	}
	s.notify(c, endpointEvent(delivery.EventEndpointDeleted, e))
	return c.NoContent(http.StatusNoContent)
}

type secretJSON struct {
	Secret    string `json:"secret,omitempty"`
	PublicKey string `json:"public_key,omitempty"`
}

func secretAnswer(key string) (secretJSON, error) {
	if strings.HasPrefix(key, delivery.PrivateKeyPrefix) {
		pub, err := delivery.PublicKeyOf(key)
		return secretJSON{PublicKey: pub}, err
	}
	return secretJSON{Secret: key}, nil
}

func (s *server) getSecret(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	sec, err := s.st.CurrentSecret(c.Request().Context(), e.TenantID, e.ID)
	if err != nil {
		return err
	}
	out, err := secretAnswer(sec.Secret)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

type rotateBody struct {
	Secret             *string `json:"secret"`
	GracePeriodSeconds *int    `json:"grace_period_seconds"`
}

// maxGrace bounds how long a rotated-out key keeps signing.
const maxGrace = 7 * 24 * time.Hour

func (s *server) rotateSecret(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	var body rotateBody
	if c.Request().ContentLength != 0 {
		if err := bind(c, &body); err != nil {
			return err
		}
	}
	grace := 24 * time.Hour
	if n := body.GracePeriodSeconds; n != nil {
		// Checked before it becomes a Duration, which would overflow.
		if *n < 0 || *n > int(maxGrace/time.Second) {
			return fieldErr("grace_period_seconds", "must be from 0 to %d (7 days)", int(maxGrace/time.Second))
		}
		grace = time.Duration(*n) * time.Second
	}
	key, err := newKey(e.SignatureScheme, body.Secret)
	if err != nil {
		return err
	}
	if err := s.st.RotateSecret(c.Request().Context(), e.TenantID, e.ID, key, grace); err != nil {
		return err
	}
	s.notify(c, rotatedEvent(e, grace))
	out, err := secretAnswer(key)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, out)
}

type windowBody struct {
	Since string `json:"since"`
	Until string `json:"until"`
}

// enqueuedJSON answers a resend or recover: how many deliveries went back
// on the queue, and the replay that records it.
type enqueuedJSON struct {
	Enqueued int       `json:"enqueued"`
	ReplayID uuid.UUID `json:"replay_id"`
}

func (s *server) recoverEndpoint(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	var body windowBody
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.Since == "" {
		return fieldErr("since", "is required: re-send failed deliveries created since when?")
	}
	since, err := parseTime("since", body.Since)
	if err != nil {
		return err
	}
	var until time.Time
	if body.Until != "" {
		if until, err = parseTime("until", body.Until); err != nil {
			return err
		}
		if !until.After(since) {
			return fieldErr("until", "must be after since")
		}
	}
	r, err := s.svc.Recover(c.Request().Context(), who(c).Name, e.TenantID, e.ID, since, until)
	if errors.Is(err, store.ErrNotFound) {
		return notFound(err, "endpoint %s", e.ID)
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusAccepted, enqueuedJSON{Enqueued: r.Enqueued, ReplayID: r.ID})
}
