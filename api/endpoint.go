package api

import (
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
}

// toEndpoint is the wire form of e. The values of secret headers (see
// delivery.IsSecretHeader) never leave hookd: they read "[redacted]".
func toEndpoint(e store.Endpoint) endpointJSON {
	return endpointJSON{ID: e.ID, TenantID: e.TenantID, URL: e.URL, Description: e.Description,
		EventTypes: nonNil(e.EventTypes), Channels: nonNil(e.Channels),
		Headers: delivery.RedactHeaders(e.Headers, e.SecretHeaders), SecretHeaders: nonNil(e.SecretHeaders), RateLimit: e.RateLimit,
		SignatureScheme: e.SignatureScheme, Disabled: e.Disabled, DisabledReason: e.DisabledReason,
		Metadata: rawObject(e.Metadata), CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
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
	BackfillSince   *string            `json:"backfill_since"` // create only: backfill.go
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
		if err := delivery.ValidateURL(*b.URL, s.cfg.HTTPSOnly); err != nil {
			bad("url", strings.TrimPrefix(err.Error(), "invalid endpoint url: "))
		}
		e.URL = *b.URL
	}
	if b.Description != nil {
		if len(*b.Description) > 2000 {
			bad("description", "must be at most 2000 characters")
		}
		e.Description = *b.Description
	}
	if b.EventTypes != nil {
		for _, f := range *b.EventTypes {
			if !eventFilterPattern.MatchString(f) {
				bad("event_types", "'"+f+"' is not an event type name or a prefix like invoice.*")
			}
		}
		if len(*b.EventTypes) > 100 {
			bad("event_types", "at most 100 filters")
		}
		e.EventTypes = *b.EventTypes
	}
	if b.Channels != nil {
		for _, c := range *b.Channels {
			if !channelPattern.MatchString(c) {
				bad("channels", "'"+c+"' must be 1 to 128 characters of letters, digits and . _ : -")
			}
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
		} else if n, err := strconv.Atoi(string(b.RateLimit)); err != nil || n < 1 {
			bad("rate_limit", "must be a whole number of at least 1 (messages per second), or null")
		} else {
			e.RateLimit = &n
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
		e.DisabledReason = *b.DisabledReason
	}
	if b.Metadata != nil {
		switch {
		case isNull(b.Metadata):
			e.Metadata = nil // null clears it
		case !isObject(b.Metadata):
			bad("metadata", "must be a JSON object")
		default:
			e.Metadata = b.Metadata
		}
	}
	if e.TenantID == store.OperationalTenant {
		errs = append(errs, operationalEndpointErrors(b)...)
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	return nil
}

// Custom headers go out with every attempt and are kept with it.
const (
	maxCustomHeaders = 50
	maxHeaderValue   = 4 << 10
)

func reserved(h string) bool {
	switch strings.ToLower(h) {
	case "webhook-id", "webhook-timestamp", "webhook-signature", "content-type", "user-agent", "host",
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
	if err != nil {
		return notFound(err, "tenant %s", tenant)
	}
	s.notify(c, endpointEvent(delivery.EventEndpointCreated, out))
	return c.JSON(http.StatusCreated, createdEndpoint{endpointJSON: toEndpoint(out), Backfill: backfill})
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
	return c.JSON(http.StatusOK, listOf(rows, next, toEndpoint))
}

func (s *server) getEndpoint(c echo.Context) error {
	e, err := s.loadEndpoint(c)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toEndpoint(e))
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
	out, err := s.st.UpdateEndpoint(c.Request().Context(), e)
	if err != nil {
		return notFound(err, "endpoint %s", e.ID)
	}
	if wasDisabled && !out.Disabled {
		// Deliveries that were retrying when it was disabled go on now.
		if _, err := s.svc.ResumeEndpoint(c.Request().Context(), out.ID); err != nil {
			return err
		}
	}
	s.notifyUpdated(c, before, out)
	return c.JSON(http.StatusOK, toEndpoint(out))
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
	if body.GracePeriodSeconds != nil {
		grace = time.Duration(*body.GracePeriodSeconds) * time.Second
		if grace < 0 || grace > maxGrace {
			return fieldErr("grace_period_seconds", "must be from 0 to 604800 (7 days)")
		}
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
