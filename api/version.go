package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// Versioned payloads on the wire (delivery/version.go says how they are
// delivered): an event type's "versions", a publish's "version" and
// "payloads", an endpoint's "version_pins", and the operators' list of the
// endpoints that pin a version.

// maxVersions is the most versions one event type may have.
const maxVersions = 100

// versionJSON is one version of an event type.
type versionJSON struct {
	Schema       json.RawMessage `json:"schema"`
	Example      json.RawMessage `json:"example"`
	Changes      string          `json:"changes"`
	DeprecatedAt *time.Time      `json:"deprecated_at"`
	CreatedAt    time.Time       `json:"created_at"`
	UpdatedAt    time.Time       `json:"updated_at"`
}

// versionsJSON is every version of e, by number.
func versionsJSON(e store.EventType) map[string]versionJSON {
	out := make(map[string]versionJSON, len(e.Versions))
	for _, v := range e.Versions {
		out[strconv.Itoa(v.Version)] = versionJSON{Schema: rawOrNull(v.Schema), Example: rawOrNull(v.Example),
			Changes: v.Changes, DeprecatedAt: v.DeprecatedAt, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
	}
	if len(out) == 0 { // an event type written before it had versions, as it is read by then
		out[strconv.Itoa(max(e.Version, 1))] = versionJSON{Schema: rawOrNull(e.Schema), Example: rawOrNull(e.Example),
			CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
	}
	return out
}

// versionBody is one version in an event type's create or PATCH; fields
// left out keep their value (or are empty for a new version).
type versionBody struct {
	Schema       json.RawMessage `json:"schema"`
	Example      json.RawMessage `json:"example"`
	Changes      *string         `json:"changes"`
	DeprecatedAt json.RawMessage `json:"deprecated_at"`
}

// versionNumber reads a version number given as text ("2"), or 0.
func versionNumber(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > delivery.MaxVersion || strconv.Itoa(n) != s {
		return 0
	}
	return n
}

// applyVersions writes the body's "versions" onto e: each version named is
// created or changed, the others are kept (versions are never removed:
// messages and pins use them). e's Version, Schema and Example become the
// latest's. It runs before apply, which then checks the latest schema
// again.
func (b eventTypeBody) applyVersions(e *store.EventType) error {
	if b.Versions == nil {
		return nil
	}
	if b.Schema != nil || b.Example != nil {
		return fieldErr("versions", "give the schema and example of each version inside versions; the top-level schema "+
			"and example are the latest version's and cannot be sent with versions")
	}
	if !isObject(b.Versions) {
		return fieldErr("versions", "must be an object of versions by number, like {\"2\": {\"schema\": {...}}}; "+
			"versions cannot be removed")
	}
	var given map[string]json.RawMessage
	if err := json.Unmarshal(b.Versions, &given); err != nil {
		return fieldErr("versions", "must be an object of versions by number")
	}
	if len(e.Versions) == 0 && !e.CreatedAt.IsZero() {
		// Stored, but read without its versions: its schema and example
		// are its latest version's.
		e.Versions = []store.EventTypeVersion{{Version: max(e.Version, 1), Schema: e.Schema, Example: e.Example}}
	}
	byNum := map[int]store.EventTypeVersion{}
	for _, v := range e.Versions {
		byNum[v.Version] = v
	}
	var errs []FieldError
	keys := slices.Sorted(maps.Keys(given))
	for _, k := range keys {
		n := versionNumber(k)
		field := "versions." + k
		if n == 0 {
			errs = append(errs, FieldError{Field: "versions", Message: fmt.Sprintf("%s is not a version: versions are numbered 1 to %d",
				quoteShort(k), delivery.MaxVersion)})
			continue
		}
		if isNull(given[k]) {
			errs = append(errs, FieldError{Field: field, Message: "versions cannot be removed (messages and pinned endpoints use them); " +
				"deprecate it with deprecated_at"})
			continue
		}
		var vb versionBody
		dec := json.NewDecoder(bytes.NewReader(given[k]))
		dec.DisallowUnknownFields()
		if !isObject(given[k]) || dec.Decode(&vb) != nil {
			errs = append(errs, FieldError{Field: field, Message: "must be an object with schema, example, changes and deprecated_at"})
			continue
		}
		v, existed := byNum[n]
		v.Version = n
		errs = append(errs, vb.apply(field, &v, existed)...)
		byNum[n] = v
	}
	switch {
	case len(byNum) == 0 && len(errs) == 0:
		errs = append(errs, FieldError{Field: "versions", Message: "must hold at least one version, like {\"1\": {\"schema\": {...}}}"})
	case len(byNum) > maxVersions:
		errs = append(errs, FieldError{Field: "versions", Message: fmt.Sprintf("an event type has at most %d versions", maxVersions)})
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	e.Versions = slices.SortedFunc(maps.Values(byNum), func(a, b store.EventTypeVersion) int { return a.Version - b.Version })
	latest := e.Versions[len(e.Versions)-1]
	if latest.DeprecatedAt != nil {
		return fieldErr("versions."+strconv.Itoa(latest.Version)+".deprecated_at",
			"the latest version cannot be deprecated: endpoints that pin none are sent it; add a newer version first, or archive the event type")
	}
	e.Version, e.Schema, e.Example = latest.Version, latest.Schema, latest.Example
	return nil
}

// apply checks one version's body and writes it onto v. A schema must
// compile, and the example (new or kept) must match the schema (new or
// kept).
func (vb versionBody) apply(field string, v *store.EventTypeVersion, existed bool) []FieldError {
	var errs []FieldError
	bad := func(f, format string, args ...any) {
		errs = append(errs, FieldError{Field: field + f, Message: fmt.Sprintf(format, args...)})
	}
	if vb.Schema != nil {
		switch {
		case isNull(vb.Schema):
			v.Schema = nil
		case !isObject(vb.Schema):
			bad(".schema", "must be a JSON Schema object")
		default:
			v.Schema = vb.Schema
		}
	}
	if vb.Example != nil {
		switch {
		case isNull(vb.Example):
			v.Example = nil
		case !isObject(vb.Example):
			bad(".example", "must be a JSON object")
		default:
			v.Example = vb.Example
		}
	}
	if vb.Changes != nil {
		if len(*vb.Changes) > maxDescription {
			bad(".changes", "must be at most %d bytes", maxDescription)
		}
		v.Changes = *vb.Changes
	}
	if vb.DeprecatedAt != nil {
		var s string
		switch {
		case isNull(vb.DeprecatedAt):
			v.DeprecatedAt = nil
		case json.Unmarshal(vb.DeprecatedAt, &s) != nil:
			bad(".deprecated_at", "must be an RFC 3339 time like 2026-01-02T15:04:05Z, or null")
		default:
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				bad(".deprecated_at", "must be an RFC 3339 time like 2026-01-02T15:04:05Z, or null")
			}
			v.DeprecatedAt = &t
		}
	}
	if len(errs) > 0 || v.Schema == nil {
		return errs
	}
	sch, err := delivery.CompileSchema(v.Schema)
	switch {
	case err != nil && (vb.Schema != nil || !existed):
		bad(".schema", "is not a valid JSON Schema: %s", err)
	case err != nil:
		bad(".schema", "the stored schema no longer compiles (%s); send a new schema, or null, with this change", err)
	case v.Example != nil:
		for _, fe := range delivery.ValidatePayload(sch, v.Example) {
			errs = append(errs, FieldError{Field: field + ".example" + fe.Field, Message: fe.Message})
		}
	}
	return errs
}

// versionedPublish reads a publish's "version" and "payloads".
func versionedPublish(version *int, payloads map[string]json.RawMessage, msg *delivery.Message) []FieldError {
	var errs []FieldError
	if version != nil {
		if *version < 1 || *version > delivery.MaxVersion {
			errs = append(errs, FieldError{Field: "version", Message: fmt.Sprintf("must be a version from 1 to %d, or left out for the latest",
				delivery.MaxVersion)})
		}
		msg.Version = *version
	}
	if payloads == nil {
		return errs
	}
	msg.Payloads = make(map[int][]byte, len(payloads))
	for _, k := range slices.Sorted(maps.Keys(payloads)) {
		n := versionNumber(k)
		if n == 0 {
			errs = append(errs, FieldError{Field: "payloads", Message: fmt.Sprintf("%s is not a version: versions are numbered 1 to %d",
				quoteShort(k), delivery.MaxVersion)})
			continue
		}
		msg.Payloads[n] = payloads[k]
	}
	return errs
}

// payloadsJSON is every payload of m by version, when it has several.
func payloadsJSON(m store.Message) map[string]json.RawMessage {
	if len(m.Payloads) == 0 {
		return nil
	}
	out := map[string]json.RawMessage{strconv.Itoa(m.Version): m.Payload}
	for v, p := range m.Payloads {
		out[strconv.Itoa(v)] = p
	}
	return out
}

// applyVersionPins checks an endpoint body's "version_pins" and writes it
// onto e: each event type must exist and have the version, and a version
// newly pinned must not be deprecated (old are the pins before, which may
// stay). null or {} pins nothing.
func (s *server) applyVersionPins(ctx context.Context, raw json.RawMessage, e *store.Endpoint, old map[string]int) error {
	if raw == nil {
		return nil
	}
	if isNull(raw) {
		e.VersionPins = nil
		return nil
	}
	if e.TenantID == store.OperationalTenant {
		return fieldErr("version_pins", "operational webhooks have one version; an operational endpoint pins none")
	}
	var given map[string]json.RawMessage
	if !isObject(raw) || json.Unmarshal(raw, &given) != nil {
		return fieldErr("version_pins", "must be an object of event type names to versions, like {\"invoice.paid\": 2}")
	}
	if len(given) > maxFilters {
		return fieldErr("version_pins", "at most %d pins", maxFilters)
	}
	var errs []FieldError
	pins := map[string]int{}
	for _, name := range slices.Sorted(maps.Keys(given)) {
		field := "version_pins." + name
		if !isEventTypeName(name) {
			errs = append(errs, FieldError{Field: "version_pins", Message: quoteShort(name) + " is not an event type name"})
			continue
		}
		n, err := strconv.Atoi(string(given[name]))
		if err != nil || n < 1 || n > delivery.MaxVersion {
			errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf("must be a version from 1 to %d", delivery.MaxVersion)})
			continue
		}
		pins[name] = n
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	types, err := s.st.EventTypesNamed(ctx, slices.Collect(maps.Keys(pins)))
	if err != nil {
		return err
	}
	now := time.Now()
	for _, name := range slices.Sorted(maps.Keys(pins)) {
		n, field := pins[name], "version_pins."+name
		et, ok := types[name]
		if !ok {
			errs = append(errs, FieldError{Field: field, Message: name + " is not a known event type"})
			continue
		}
		v, ok := et.VersionOf(n)
		switch {
		case !ok:
			errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf("%s has no version %d; its versions are %s", name, n,
				versionNames(et))})
		case v.DeprecatedAt != nil && !v.DeprecatedAt.After(now) && old[name] != n:
			errs = append(errs, FieldError{Field: field, Message: fmt.Sprintf("version %d of %s is deprecated (since %s); pin version %d",
				n, name, v.DeprecatedAt.UTC().Format(time.RFC3339), et.Version)})
		}
	}
	if len(errs) > 0 {
		return invalid(errs...)
	}
	e.VersionPins = pins
	return nil
}

// versionNames lists the versions of et: "1, 2".
func versionNames(et store.EventType) string {
	var b []byte
	for i, v := range et.Versions {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = strconv.AppendInt(b, int64(v.Version), 10)
	}
	return string(b)
}

// pinsOf is e's pins for the wire ({} for none).
func pinsOf(e store.Endpoint) map[string]int {
	if e.VersionPins == nil {
		return map[string]int{}
	}
	return e.VersionPins
}

// pinnedEndpointJSON is an endpoint that pins a version.
type pinnedEndpointJSON struct {
	ID        uuid.UUID `json:"id"`
	TenantID  string    `json:"tenant_id"`
	URL       string    `json:"url"`
	Disabled  bool      `json:"disabled"`
	CreatedAt time.Time `json:"created_at"`
}

// listVersionEndpoints lists the endpoints, of every tenant, that pin a
// version of an event type: who still uses a deprecated one.
func (s *server) listVersionEndpoints(c echo.Context) error {
	ctx := c.Request().Context()
	et, err := s.st.GetEventType(ctx, c.Param("name"))
	if err != nil {
		return notFound(err, "event type %s", c.Param("name"))
	}
	n := versionNumber(c.Param("version"))
	if _, ok := et.VersionOf(n); !ok {
		return problem(http.StatusNotFound, fmt.Sprintf("version %s of event type %s not found; its versions are %s",
			quoteShort(c.Param("version")), et.Name, versionNames(et)))
	}
	p, err := page(c)
	if err != nil {
		return err
	}
	rows, next, err := s.st.VersionEndpoints(ctx, et.Name, n, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rows, next, func(e store.PinnedEndpoint) pinnedEndpointJSON {
		return pinnedEndpointJSON{ID: e.ID, TenantID: e.TenantID, URL: e.URL, Disabled: e.Disabled, CreatedAt: e.CreatedAt}
	}))
}
