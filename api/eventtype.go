package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

var eventTypePattern = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

// isEventTypeName tells whether name can be an event type's name.
func isEventTypeName(name string) bool {
	return len(name) <= maxNameLen && eventTypePattern.MatchString(name)
}

type eventTypeJSON struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Example     json.RawMessage `json:"example"`
	Archived    bool            `json:"archived"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	// Version is the latest version; Versions every one (version.go).
	Version  int                    `json:"version"`
	Versions map[string]versionJSON `json:"versions"`
}

func toEventType(e store.EventType) eventTypeJSON {
	return eventTypeJSON{Name: e.Name, Description: e.Description, Schema: rawOrNull(e.Schema), Example: rawOrNull(e.Example),
		Archived: e.Archived, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt,
		Version: max(e.Version, 1), Versions: versionsJSON(e)}
}

type eventTypeBody struct {
	Name        string          `json:"name"`
	Description *string         `json:"description"`
	Schema      json.RawMessage `json:"schema"`
	Example     json.RawMessage `json:"example"`
	Archived    *bool           `json:"archived"`
	// Versions creates or changes versions by number (version.go).
	Versions json.RawMessage `json:"versions"`
}

// apply validates body and writes it onto e. The schema that results must
// compile, whether it is new or was stored before (a stored schema may no
// longer compile, e.g. one with a reference outside itself).
func (b eventTypeBody) apply(e *store.EventType) error {
	if b.Description != nil {
		if len(*b.Description) > maxDescription {
			return fieldErr("description", "must be at most %d bytes", maxDescription)
		}
		e.Description = *b.Description
	}
	if b.Schema != nil {
		if isNull(b.Schema) {
			e.Schema = nil
		} else {
			if !isObject(b.Schema) {
				return fieldErr("schema", "must be a JSON Schema object")
			}
			e.Schema = b.Schema
		}
	}
	if b.Example != nil {
		if isNull(b.Example) {
			e.Example = nil
		} else {
			if !isObject(b.Example) {
				return fieldErr("example", "must be a JSON object")
			}
			e.Example = b.Example
		}
	}
	if e.Schema != nil {
		sch, err := delivery.CompileSchema(e.Schema)
		switch {
		case err != nil && b.Schema != nil:
			return fieldErr("schema", "is not a valid JSON Schema: %s", err)
		case err != nil:
			return fieldErr("schema", "the stored schema no longer compiles (%s); send a new schema, or null, with this change", err)
		case e.Example != nil:
			if errs := delivery.ValidatePayload(sch, e.Example); len(errs) > 0 {
				return invalid(prefixed("example", fieldErrors(errs))...)
			}
		}
	}
	if b.Archived != nil {
		e.Archived = *b.Archived
	}
	return nil
}

func (s *server) createEventType(c echo.Context) error {
	var body eventTypeBody
	if err := bind(c, &body); err != nil {
		return err
	}
	if !isEventTypeName(body.Name) {
		return fieldErr("name", "must be dot-separated segments of letters, digits, _ and - (like invoice.paid), at most %d characters",
			maxNameLen)
	}
	e := store.EventType{Name: body.Name}
	if err := body.applyVersions(&e); err != nil {
		return err
	}
	if err := body.apply(&e); err != nil {
		return err
	}
	out, err := s.st.CreateEventType(c.Request().Context(), e)
	if errors.Is(err, store.ErrConflict) {
		return problem(http.StatusConflict, fmt.Sprintf("event type %s already exists; PATCH it to change it", body.Name))
	}
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, toEventType(out))
}

// putEventType creates or replaces an event type: event types as code. The
// body is the whole event type, so a field left out takes its default (no
// description, schema or example; not archived), and sending the same body
// again changes nothing. 201 when it was created, 200 otherwise.
func (s *server) putEventType(c echo.Context) error {
	name := c.Param("name")
	if !isEventTypeName(name) {
		return fieldErr("name", "must be dot-separated segments of letters, digits, _ and - (like invoice.paid), at most %d characters",
			maxNameLen)
	}
	var body eventTypeBody
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.Name != "" && body.Name != name {
		return fieldErr("name", "is %s in the body but %s in the path; leave it out or make them the same", quoteShort(body.Name),
			quoteShort(name))
	}
	e := store.EventType{Name: name}
	if err := body.applyVersions(&e); err != nil {
		return err
	}
	if err := body.apply(&e); err != nil {
		return err
	}
	out, created, err := s.st.UpsertEventType(c.Request().Context(), e)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, toEventType(out))
}

func (s *server) listEventTypes(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	archived := false
	if v := c.QueryParam("include_archived"); v != "" {
		if archived, err = strconv.ParseBool(v); err != nil {
			return fieldErr("include_archived", "must be true or false")
		}
	}
	rows, next, err := s.st.ListEventTypes(c.Request().Context(), archived, p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rows, next, toEventType))
}

func (s *server) getEventType(c echo.Context) error {
	e, err := s.st.GetEventType(c.Request().Context(), c.Param("name"))
	if err != nil {
		return notFound(err, "event type %s", c.Param("name"))
	}
	return c.JSON(http.StatusOK, toEventType(e))
}

func (s *server) patchEventType(c echo.Context) error {
	ctx := c.Request().Context()
	e, err := s.st.GetEventType(ctx, c.Param("name"))
	if err != nil {
		return notFound(err, "event type %s", c.Param("name"))
	}
	var body eventTypeBody
	if err := bind(c, &body); err != nil {
		return err
	}
	if body.Name != "" && body.Name != e.Name {
		return fieldErr("name", "cannot be changed; create a new event type instead")
	}
	if err := body.applyVersions(&e); err != nil {
		return err
	}
	if err := body.apply(&e); err != nil {
		return err
	}
	out, err := s.st.UpdateEventType(ctx, e)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toEventType(out))
}

// archiveEventType is DELETE: event types are archived, never removed, so
// that old messages keep their meaning.
func (s *server) archiveEventType(c echo.Context) error {
	ctx := c.Request().Context()
	e, err := s.st.GetEventType(ctx, c.Param("name"))
	if err != nil {
		return notFound(err, "event type %s", c.Param("name"))
	}
	e.Archived = true
	out, err := s.st.UpdateEventType(ctx, e)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toEventType(out))
}

// prefixed puts errs under field, e.g. "payload/amount".
func prefixed(field string, errs []FieldError) []FieldError {
	for i := range errs {
		errs[i].Field = field + errs[i].Field
	}
	return errs
}
