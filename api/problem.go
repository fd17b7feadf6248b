package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/store"
)

// Problem is an RFC 9457 error answer.
type Problem struct {
	Type   string       `json:"type"`
	Title  string       `json:"title"`
	Status int          `json:"status"`
	Detail string       `json:"detail"`
	Errors []FieldError `json:"errors,omitempty"`
}

// FieldError names one field at fault in a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (p *Problem) Error() string { return p.Detail }

func problem(status int, detail string) *Problem {
	return &Problem{Type: "about:blank", Title: http.StatusText(status), Status: status, Detail: detail}
}

// invalid is a 422 naming the fields at fault.
func invalid(errs ...FieldError) *Problem {
	parts := make([]string, len(errs))
	for i, e := range errs {
		parts[i] = e.Field + ": " + e.Message
	}
	p := problem(http.StatusUnprocessableEntity, strings.Join(parts, "; "))
	p.Errors = errs
	return p
}

func fieldErr(field, format string, args ...any) *Problem {
	return invalid(FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// handleError is the one place where errors become HTTP answers.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	var p *Problem
	var he *echo.HTTPError
	var ie *delivery.InvalidError
	switch {
	case errors.As(err, &p):
	case errors.As(err, &ie):
		// A refused publish: the same detail and errors as PublishTx's.
		p = invalid(fieldErrors(ie.Errors)...)
		p.Detail = ie.Detail
		if ie.TooLarge {
			p.Status, p.Title = http.StatusRequestEntityTooLarge, http.StatusText(http.StatusRequestEntityTooLarge)
		}
	case errors.As(err, &he):
		p = problem(he.Code, fmt.Sprint(he.Message))
		if he.Code == http.StatusRequestEntityTooLarge {
			p.Detail = fmt.Sprintf("the request body is larger than the limit (payloads up to %d bytes)", s.cfg.MaxPayloadBytes)
		}
		if he.Code == http.StatusNotFound {
			p.Detail = "no such route: " + c.Request().Method + " " + c.Request().URL.Path
			if allow := s.allowedMethods(c.Request().URL.Path); len(allow) > 0 {
				p = problem(http.StatusMethodNotAllowed, fmt.Sprintf("%s is not allowed on %s; use %s",
					c.Request().Method, c.Request().URL.Path, strings.Join(allow, ", ")))
				c.Response().Header().Set("Allow", strings.Join(allow, ", "))
			}
		}
		if he.Code == http.StatusMethodNotAllowed {
			p.Detail = "method " + c.Request().Method + " is not allowed on " + c.Request().URL.Path
		}
	case errors.Is(err, store.ErrNotFound):
		p = problem(http.StatusNotFound, "not found")
	case errors.Is(err, store.ErrConflict):
		p = problem(http.StatusConflict, "it already exists")
	case errors.Is(err, store.ErrExpunged):
		p = problem(http.StatusConflict, "the message's content was removed (DELETE .../content): there is nothing to send")
	case errors.Is(err, store.ErrBadCursor):
		p = fieldErr("cursor", "is not a cursor from a previous page")
	case c.Request().Context().Err() == nil && store.Unavailable(err):
		// Postgres is down, restarting or failing over: nothing was
		// accepted, and the same request will work again shortly.
		s.log.Warn("database unavailable", "method", c.Request().Method, "path", c.Request().URL.Path, "error", err)
		p = problem(http.StatusServiceUnavailable, "the database is unavailable for a moment; nothing was accepted, retry after a few seconds")
		c.Response().Header().Set("Retry-After", strconv.Itoa(retryAfterUnavailable))
	default:
		s.log.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "error", err)
		p = problem(http.StatusInternalServerError, "internal error; the server log has the details")
	}
	if bodyUnread(c) {
		// Do not wait for a body that will not be used (an unauthenticated
		// client trickling one, say): answer and close.
		c.Response().Header().Set("Connection", "close")
	}
	c.Response().Header().Set(echo.HeaderContentType, "application/problem+json")
	c.Response().WriteHeader(p.Status)
	_ = jsonEncode(c.Response(), p)
}

// fieldErrors maps delivery's field errors to the wire's.
func fieldErrors(errs []delivery.FieldError) []FieldError {
	out := make([]FieldError, len(errs))
	for i, e := range errs {
		out[i] = FieldError{Field: e.Field, Message: e.Message}
	}
	return out
}

// retryAfterUnavailable is the Retry-After, in seconds, of a 503 while
// the database is unavailable.
const retryAfterUnavailable = 2

// notFound names what was not found when err is store.ErrNotFound, and
// passes other errors on.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, store.ErrNotFound) {
		return problem(http.StatusNotFound, fmt.Sprintf(format, args...)+" not found")
	}
	return err
}
