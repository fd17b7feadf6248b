package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/store"
)

// list is the shape of every list answer.
type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

func listOf[T, S any](rows []S, next string, conv func(S) T) list[T] {
	out := list[T]{Data: make([]T, len(rows))}
	for i, r := range rows {
		out.Data[i] = conv(r)
	}
	if next != "" {
		out.NextCursor = &next
	}
	return out
}

// page reads ?limit (1–250, default 50) and ?cursor.
func page(c echo.Context) (store.Page, error) {
	p := store.Page{Limit: 50, Cursor: c.QueryParam("cursor")}
	if v := c.QueryParam("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 250 {
			return p, fieldErr("limit", "must be a whole number from 1 to 250")
		}
		p.Limit = n
	}
	return p, nil
}

// timeParam reads an RFC 3339 query parameter.
func timeParam(c echo.Context, name string) (time.Time, error) {
	v := c.QueryParam(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fieldErr(name, "must be an RFC 3339 time like 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// parseTime reads an RFC 3339 time from a body field.
func parseTime(field, v string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fieldErr(field, "must be an RFC 3339 time like 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// parseID reads a uuid from a body field.
func parseID(field, v string) (uuid.UUID, error) {
	id, err := uuid.Parse(v)
	if err != nil {
		return uuid.Nil, fieldErr(field, "must be an id (a UUID)")
	}
	return id, nil
}

// bind decodes a JSON body strictly: unknown fields and trailing data are
// errors that name what is wrong.
func bind(c echo.Context, v any) error {
	body := c.Request().Body
	if body == nil {
		return problem(http.StatusBadRequest, "the request needs a JSON body")
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if err == io.EOF {
			return problem(http.StatusBadRequest, "the request needs a JSON body")
		}
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit))
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fieldErr(te.Field, "must be %s", jsonKind(te.Type.Kind().String()))
		}
		return problem(http.StatusBadRequest, "the body is not valid JSON for this request: "+err.Error())
	}
	if dec.More() {
		return problem(http.StatusBadRequest, "the body has data after the JSON value")
	}
	return nil
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "int", "int64", "int32", "float64":
		return "a number"
	case "slice":
		return "an array"
	case "map", "struct":
		return "an object"
	}
	return fmt.Sprintf("of another type (%s)", goKind)
}

func jsonEncode(w io.Writer, v any) error {
	return json.NewEncoder(w).Encode(v)
}

// rawObject returns b when it is a JSON object, or "{}" when empty.
func rawObject(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("{}")
	}
	return json.RawMessage(b)
}

// rawOrNull returns b, or JSON null when empty.
func rawOrNull(b []byte) json.RawMessage {
	if len(b) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(b)
}

// isObject tells whether raw is a JSON object.
func isObject(raw json.RawMessage) bool {
	for _, ch := range raw {
		switch ch {
		case ' ', '\t', '\n', '\r':
			continue
		case '{':
			return json.Valid(raw)
		default:
			return false
		}
	}
	return false
}

func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}
