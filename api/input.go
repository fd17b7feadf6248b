package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/delivery"
)

// Every text that reaches Postgres must be valid UTF-8 without NUL: text
// columns refuse NUL and invalid UTF-8, jsonb refuses \u0000 and unpaired
// surrogates and numbers past numeric's range. checkInput holds that for
// every route under /api/v1 in one place, so that no handler can forget it:
// path parameters, query parameters, the headers that are stored, and every
// string, object key and number of a JSON body at any depth.
//
// The exceptions are the parts of a body that hookd keeps as the exact
// bytes it was sent (bytea): a published payload, an event type's schema
// and example. There any valid JSON is kept, \u0000 included; the body as
// a whole must still be UTF-8 (RFC 8259).

// exactFields lists, by route, the body members kept as exact bytes: a
// top-level member, or a dotted path where * is any key (the schema of
// every version).
var exactFields = map[string][]string{
	http.MethodPost + " /api/v1/tenants/:tenant/messages": {"payload", "payloads"},
	http.MethodPost + " /api/v1/event-types":              {"schema", "example", "versions.*.schema", "versions.*.example"},
	http.MethodPatch + " /api/v1/event-types/:name":       {"schema", "example", "versions.*.schema", "versions.*.example"},
	http.MethodPut + " /api/v1/event-types/:name":         {"schema", "example", "versions.*.schema", "versions.*.example"},
}

// maxJSONDepth bounds how deep the checked parts of a body nest (metadata
// is the only part that nests at all). Exact parts may nest as deep as
// encoding/json allows (10000).
const maxJSONDepth = 32

// storedHeaders are the request headers whose values are stored, with the
// field they are reported as.
var storedHeaders = map[string]string{"Idempotency-Key": "idempotency_key"}

const bodyReadKey = "hookd.body_read"

// checkInput refuses a request whose path, query, stored headers or body
// hold anything Postgres would refuse: 404 for a path parameter (no such
// thing can exist), 422 naming the field for the rest, 400 for a body that
// is not JSON. It reads the whole body (limitBody bounds it), so it runs
// after authentication: an unauthenticated request is refused unread.
func (s *server) checkInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		names := c.ParamNames()
		for i, v := range c.ParamValues() {
			if !isText(v) || !couldExist(c, names[i], v) {
				return problem(http.StatusNotFound, paramNoun(names[i])+" "+quoteShort(v)+" not found")
			}
		}
		for k, vs := range c.QueryParams() {
			if !isText(k) {
				return fieldErr("query", "a parameter name %s %s", quoteShort(k), notTextReason(k))
			}
			for _, v := range vs {
				if !isText(v) {
					return fieldErr(k, "%s", notTextReason(v))
				}
			}
		}
		for h, field := range storedHeaders {
			for _, v := range c.Request().Header.Values(h) {
				if !isText(v) {
					return fieldErr(field, "the %s header %s", h, notTextReason(v))
				}
			}
		}
		if err := s.checkBody(c); err != nil {
			return err
		}
		return next(c)
	}
}

// checkBody reads the request body, checks it and puts it back for the
// handler to decode.
func (s *server) checkBody(c echo.Context) error {
	req := c.Request()
	if req.Body == nil || req.Body == http.NoBody || req.ContentLength == 0 {
		c.Set(bodyReadKey, true)
		return nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		var ne net.Error
		switch {
		case errors.As(err, &mbe):
			if isPublish(c) {
				return problem(http.StatusRequestEntityTooLarge,
					fmt.Sprintf("the request is too large: payloads are limited to %d bytes (and a publish to %d of them, one per version)",
						s.cfg.MaxPayloadBytes, delivery.MaxPayloads))
			}
			return problem(http.StatusRequestEntityTooLarge, fmt.Sprintf("the request body is larger than %d bytes", mbe.Limit))
		case errors.As(err, &ne) && ne.Timeout():
			return problem(http.StatusRequestTimeout, "the request body did not arrive in time")
		default:
			return problem(http.StatusBadRequest, "the request body could not be read: "+err.Error())
		}
	}
	c.Set(bodyReadKey, true)
	req.Body = io.NopCloser(bytes.NewReader(body))
	req.ContentLength = int64(len(body))
	if len(bytes.TrimSpace(body)) == 0 {
		return nil // the handler says whether it needs one
	}
	sc := jsonScanner{b: body, exact: exactFields[req.Method+" "+c.Path()]}
	if err := sc.document(); err != nil {
		if errors.Is(err, errSyntax) {
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				return problem(http.StatusBadRequest, "the body is not valid JSON: "+err.Error())
			}
			return problem(http.StatusBadRequest, "the body is not valid JSON")
		}
		return err
	}
	return nil
}

// bodyUnread tells whether the request came with a body that nobody read,
// so that the connection must close after the answer rather than wait for
// the rest of it.
func bodyUnread(c echo.Context) bool {
	req := c.Request()
	if req.ContentLength == 0 || req.Body == nil || req.Body == http.NoBody {
		return false
	}
	read, _ := c.Get(bodyReadKey).(bool)
	return !read
}

// isText tells whether s can be stored as Postgres text: valid UTF-8 and
// no NUL.
func isText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

func notTextReason(s string) string {
	if !utf8.ValidString(s) {
		return "is not valid UTF-8 text"
	}
	return "contains a NUL character (\\u0000), which hookd does not store"
}

// quoteShort quotes s for a message, cut to 100 bytes.
func quoteShort(s string) string {
	if len(s) > 100 {
		return strconv.Quote(s[:100]) + "..."
	}
	return strconv.Quote(s)
}

// couldExist tells whether a path parameter could name something: a
// tenant id or an event type name that no tenant or event type can have is
// not found, on every route but the one that creates a tenant (which
// says what is wrong with the id).
func couldExist(c echo.Context, name, v string) bool {
	switch name {
	case "tenant":
		// PUT creates, and so may a publish: a bad id is their caller's
		// field error (422).
		return isTenantID(v) || (c.Request().Method == http.MethodPut && c.Path() == "/api/v1/tenants/:tenant") ||
			isPublish(c)
	case "name":
		// PUT creates: a bad name is the caller's field error (422).
		return isEventTypeName(v) || (c.Request().Method == http.MethodPut && c.Path() == "/api/v1/event-types/:name")
	}
	return true
}

// paramNoun is what a path parameter names, for a 404's sentence.
func paramNoun(name string) string {
	if name == "name" {
		return "event type"
	}
	return name
}

// errSyntax means the body is not JSON; the decoder says why.
var errSyntax = errors.New("invalid JSON")

// jsonScanner walks a JSON document (RFC 8259), checking every string,
// key and number outside the exact members.
type jsonScanner struct {
	b     []byte
	i     int
	exact []string // members kept as exact bytes (exactFields)
	keys  []string // the keys from the top to the value being checked ("[]" for an array's element)
}

// isExact tells whether the member at s.keys is kept as exact bytes.
func (s *jsonScanner) isExact() bool {
	for _, pattern := range s.exact {
		parts := strings.Split(pattern, ".")
		if len(parts) != len(s.keys) {
			continue
		}
		match := true
		for i, p := range parts {
			if p != "*" && p != s.keys[i] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func (s *jsonScanner) document() error {
	if err := s.value("", 0, false); err != nil {
		return err
	}
	s.space()
	if s.i != len(s.b) {
		return errSyntax
	}
	return nil
}

func (s *jsonScanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// next skips space and tells whether the next byte is c, consuming it.
func (s *jsonScanner) next(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// value checks one value. path names it in errors; exact means it is kept
// as bytes, so only UTF-8 is checked.
func (s *jsonScanner) value(path string, depth int, exact bool) error {
	s.space()
	if s.i >= len(s.b) || depth > 10000 {
		return errSyntax
	}
	if !exact && depth > maxJSONDepth {
		return fieldErr(path, "nests deeper than %d levels", maxJSONDepth)
	}
	switch c := s.b[s.i]; {
	case c == '{':
		s.i++
		if s.next('}') {
			return nil
		}
		for {
			s.space()
			key, err := s.str(path, exact, true)
			if err != nil {
				return err
			}
			if !s.next(':') {
				return errSyntax
			}
			// Inside an exact part errors name the part, not the member.
			child, childExact := path, exact
			if !exact {
				child = joinPath(path, key)
				s.keys = append(s.keys, key)
				childExact = s.isExact()
			}
			err = s.value(child, depth+1, childExact)
			if !exact {
				s.keys = s.keys[:len(s.keys)-1]
			}
			if err != nil {
				return err
			}
			if s.next(',') {
				continue
			}
			if s.next('}') {
				return nil
			}
			return errSyntax
		}
	case c == '[':
		s.i++
		if s.next(']') {
			return nil
		}
		for n := 0; ; n++ {
			child := path
			if !exact {
				child = path + "[" + strconv.Itoa(n) + "]"
				s.keys = append(s.keys, "[]")
			}
			err := s.value(child, depth+1, exact)
			if !exact {
				s.keys = s.keys[:len(s.keys)-1]
			}
			if err != nil {
				return err
			}
			if s.next(',') {
				continue
			}
			if s.next(']') {
				return nil
			}
			return errSyntax
		}
	case c == '"':
		_, err := s.str(path, exact, false)
		return err
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number(path, exact)
	}
	return errSyntax
}

func (s *jsonScanner) literal(word string) error {
	if !bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		return errSyntax
	}
	s.i += len(word)
	return nil
}

// str checks a string at s.i. For a key outside exact parts it returns
// its text, to name paths and find the exact members.
func (s *jsonScanner) str(path string, exact, key bool) (string, error) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return "", errSyntax
	}
	bad := func(reason string) (string, error) {
		if key {
			return "", fieldErr(orBody(path), "has a key that %s", reason)
		}
		return "", fieldErr(orBody(path), "%s", reason)
	}
	start := s.i + 1
	escaped := false
	for i := start; i < len(s.b); {
		c := s.b[i]
		switch {
		case c == '"':
			s.i = i + 1
			raw := s.b[start:i]
			if !key || exact {
				return "", nil
			}
			if !escaped {
				return string(raw), nil
			}
			var out string
			if err := json.Unmarshal(s.b[start-1:i+1], &out); err != nil {
				return "", errSyntax
			}
			return out, nil
		case c < 0x20:
			return "", errSyntax
		case c == '\\':
			escaped = true
			if i+1 >= len(s.b) {
				return "", errSyntax
			}
			switch s.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
				continue
			case 'u':
			default:
				return "", errSyntax
			}
			r, ok := hex4(s.b[i+2:])
			if !ok {
				return "", errSyntax
			}
			i += 6
			if exact {
				continue
			}
			switch {
			case r == 0:
				return bad("contains a NUL character (\\u0000), which hookd does not store")
			case r >= 0xd800 && r < 0xdc00:
				lo, ok := rune(0), false
				if i+1 < len(s.b) && s.b[i] == '\\' && s.b[i+1] == 'u' {
					lo, ok = hex4(s.b[i+2:])
				}
				if !ok || lo < 0xdc00 || lo > 0xdfff {
					return bad("contains an unpaired UTF-16 surrogate escape, which is not text")
				}
				i += 6
			case r >= 0xdc00 && r <= 0xdfff:
				return bad("contains an unpaired UTF-16 surrogate escape, which is not text")
			}
		case c < utf8.RuneSelf:
			i++
		default:
			r, size := utf8.DecodeRune(s.b[i:])
			if r == utf8.RuneError && size <= 1 {
				return bad("is not valid UTF-8 text")
			}
			i += size
		}
	}
	return "", errSyntax
}

func hex4(b []byte) (rune, bool) {
	if len(b) < 4 {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[:4]), 16, 32)
	return rune(n), err == nil
}

// number checks a number at s.i: outside exact parts it must fit a float64
// (Postgres numeric refuses exponents past ±16383, and would store 1e100000
// as a hundred thousand digits).
func (s *jsonScanner) number(path string, exact bool) error {
	start := s.i
	i := s.i
	digits := func() int {
		n := 0
		for i < len(s.b) && s.b[i] >= '0' && s.b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if s.b[i] == '-' {
		i++
	}
	switch {
	case i < len(s.b) && s.b[i] == '0':
		i++
	case digits() == 0:
		return errSyntax
	}
	if i < len(s.b) && s.b[i] == '.' {
		i++
		if digits() == 0 {
			return errSyntax
		}
	}
	if i < len(s.b) && (s.b[i] == 'e' || s.b[i] == 'E') {
		i++
		if i < len(s.b) && (s.b[i] == '+' || s.b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return errSyntax
		}
	}
	s.i = i
	if exact {
		return nil
	}
	tok := string(s.b[start:i])
	f, err := strconv.ParseFloat(tok, 64)
	mantissa, _, _ := strings.Cut(strings.ToLower(tok), "e")
	if err != nil || (f == 0 && strings.Trim(mantissa, "-0.") != "") {
		return fieldErr(orBody(path), "is a number out of range (%.40s)", tok)
	}
	return nil
}

// joinPath names a member of the object at path: "metadata.plan".
func joinPath(path, key string) string {
	if len(key) > 64 {
		key = key[:64] + "..."
	}
	key = strings.ReplaceAll(strings.ToValidUTF8(key, "\uFFFD"), "\x00", `\u0000`)
	if path == "" {
		return key
	}
	return path + "." + key
}

func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}
