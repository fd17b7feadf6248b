package client

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is an answer of hookd other than 2xx: the API's problem+json
// (RFC 9457). Validation errors (422) name the fields at fault in Errors.
// Get one with errors.As:
//
//	var problem *client.Error
//	if errors.As(err, &problem) && problem.Status == http.StatusNotFound { ... }
type Error struct {
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Type is a URI that names the kind of problem ("about:blank").
	Type string `json:"type"`
	// Title is the status's text, like "Unprocessable Entity".
	Title string `json:"title"`
	// Detail says what went wrong, for people. Answers that were not
	// problem+json (from a proxy, say) have their body here.
	Detail string `json:"detail"`
	// Errors lists the fields at fault, for validation errors.
	Errors []FieldError `json:"errors"`

	// Method and Path are the request's, for the error message.
	Method string `json:"-"`
	Path   string `json:"-"`
}

// FieldError names one field at fault in a request, like "url" or
// "payload.amount".
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error tells the request, the status and the detail.
func (e *Error) Error() string {
	var b strings.Builder
	if e.Method != "" {
		fmt.Fprintf(&b, "%s %s: ", e.Method, e.Path)
	}
	fmt.Fprintf(&b, "%d %s", e.Status, e.Title)
	if e.Detail != "" {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	return b.String()
}

// Field returns the message for a field at fault, and whether the error
// names that field.
func (e *Error) Field(name string) (string, bool) {
	for _, f := range e.Errors {
		if f.Field == name {
			return f.Message, true
		}
	}
	return "", false
}

// IsNotFound tells whether err is a 404 answer.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsConflict tells whether err is a 409 answer, like creating an event
// type that exists.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}
