package api_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const amountSchema = `{"type":"object","properties":{"amount":{"type":"integer"}},"required":["amount"]}`

func TestEventTypes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)

	t.Run("create, read, duplicate", func(t *testing.T) {
		t.Parallel()
		name := uniq("invoice.created.v")
		body := obj{"name": name, "description": "An invoice was created.", "schema": json.RawMessage(amountSchema),
			"example": obj{"amount": 100}}
		status, _, raw := h.do(t, http.MethodPost, "/api/v1/event-types", adminKey, body)
		got := decode[obj](t, http.StatusCreated, status, raw)
		require.Equal(t, name, got["name"])
		require.Equal(t, "An invoice was created.", got["description"])
		require.Equal(t, false, got["archived"])
		require.Equal(t, obj{"amount": float64(100)}, got["example"])
		require.NotNil(t, got["schema"])

		status, _, raw = h.do(t, http.MethodGet, "/api/v1/event-types/"+name, adminKey, nil)
		require.Equal(t, got, decode[obj](t, http.StatusOK, status, raw))

		status, header, raw := h.do(t, http.MethodPost, "/api/v1/event-types", adminKey, obj{"name": name})
		p := requireProblem(t, http.StatusConflict, status, header, raw)
		require.Contains(t, p.Detail, name)
	})

	t.Run("without schema the schema is null", func(t *testing.T) {
		t.Parallel()
		name := uniq("user.created")
		status, _, raw := h.do(t, http.MethodPost, "/api/v1/event-types", adminKey, obj{"name": name})
		got := decode[obj](t, http.StatusCreated, status, raw)
		require.Nil(t, got["schema"])
		require.Nil(t, got["example"])
		require.Equal(t, "", got["description"])
	})

	for _, tc := range []struct {
		name, field string
		body        obj
	}{
		{"missing name", "name", obj{"description": "x"}},
		{"bad name", "name", obj{"name": "invoice paid"}},
		{"empty segment", "name", obj{"name": "invoice..paid"}},
		{"trailing dot", "name", obj{"name": "invoice."}},
		{"schema not an object", "schema", obj{"name": uniq("s.a"), "schema": "string"}},
		{"schema not a JSON Schema", "schema", obj{"name": uniq("s.b"), "schema": obj{"type": 12}}},
		{"schema with a bad keyword value", "schema", obj{"name": uniq("s.c"), "schema": obj{"minLength": "three"}}},
		{"example not an object", "example", obj{"name": uniq("s.d"), "example": []int{1}}},
		{"example breaks the schema", "example", obj{"name": uniq("s.e"), "schema": json.RawMessage(amountSchema),
			"example": obj{"amount": "ten"}}},
	} {
		t.Run("invalid "+tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, raw := h.do(t, http.MethodPost, "/api/v1/event-types", adminKey, tc.body)
			p := requireProblem(t, http.StatusUnprocessableEntity, status, header, raw)
			require.NotEmpty(t, p.Errors)
			for _, f := range p.fields() {
				require.Contains(t, f, tc.field, "detail: %s", p.Detail)
			}
			if name, ok := tc.body["name"].(string); ok && eventTypeName(name) {
				status, header, raw = h.do(t, http.MethodGet, "/api/v1/event-types/"+name, adminKey, nil)
				requireProblem(t, http.StatusNotFound, status, header, raw)
			}
		})
	}

	t.Run("patch", func(t *testing.T) {
		t.Parallel()
		name := h.eventType(t, "")
		status, _, raw := h.do(t, http.MethodPatch, "/api/v1/event-types/"+name, adminKey,
			obj{"description": "Paid in full.", "schema": json.RawMessage(amountSchema)})
		got := decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, "Paid in full.", got["description"])
		require.NotNil(t, got["schema"])

		// An example that breaks the new schema is refused, and nothing changes.
		status, header, raw := h.do(t, http.MethodPatch, "/api/v1/event-types/"+name, adminKey,
			obj{"description": "changed", "example": obj{"amount": 1.5}})
		requireInvalid(t, "example/amount", status, header, raw)
		status, _, raw = h.do(t, http.MethodGet, "/api/v1/event-types/"+name, adminKey, nil)
		require.Equal(t, "Paid in full.", decode[obj](t, http.StatusOK, status, raw)["description"])

		// null removes the schema.
		status, _, raw = h.do(t, http.MethodPatch, "/api/v1/event-types/"+name, adminKey, obj{"schema": nil})
		require.Nil(t, decode[obj](t, http.StatusOK, status, raw)["schema"])

		status, header, raw = h.do(t, http.MethodPatch, "/api/v1/event-types/"+name, adminKey, obj{"name": "renamed"})
		requireInvalid(t, "name", status, header, raw)
		status, header, raw = h.do(t, http.MethodPatch, "/api/v1/event-types/no.such.type", adminKey, obj{"description": "x"})
		requireProblem(t, http.StatusNotFound, status, header, raw)
	})

	t.Run("put creates, replaces, and is idempotent", func(t *testing.T) {
		t.Parallel()
		name := uniq("subscription.renewed.v")
		path := "/api/v1/event-types/" + name
		body := obj{"description": "A subscription renewed.", "schema": json.RawMessage(amountSchema),
			"example": obj{"amount": 100}}
		status, _, raw := h.do(t, http.MethodPut, path, adminKey, body)
		created := decode[obj](t, http.StatusCreated, status, raw)
		require.Equal(t, name, created["name"])
		require.Equal(t, "A subscription renewed.", created["description"])
		require.Equal(t, obj{"amount": float64(100)}, created["example"])
		require.NotNil(t, created["schema"])

		// The same body again: 200, and nothing changed, not even updated_at.
		status, _, raw = h.do(t, http.MethodPut, path, adminKey, body)
		require.Equal(t, created, decode[obj](t, http.StatusOK, status, raw))
		status, _, raw = h.do(t, http.MethodGet, path, adminKey, nil)
		require.Equal(t, created, decode[obj](t, http.StatusOK, status, raw))

		// A PUT replaces the whole event type: what it leaves out is reset.
		status, _, raw = h.do(t, http.MethodPut, path, adminKey, obj{"name": name, "description": "Renewed."})
		replaced := decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, "Renewed.", replaced["description"])
		require.Nil(t, replaced["schema"])
		require.Nil(t, replaced["example"])
		require.Equal(t, created["created_at"], replaced["created_at"])
		require.NotEqual(t, created["updated_at"], replaced["updated_at"])

		// Archived by DELETE, then declared again without archived: active.
		status, _, raw = h.do(t, http.MethodDelete, path, adminKey, nil)
		require.Equal(t, true, decode[obj](t, http.StatusOK, status, raw)["archived"])
		status, _, raw = h.do(t, http.MethodPut, path, adminKey, obj{"description": "Renewed.", "archived": true})
		require.Equal(t, true, decode[obj](t, http.StatusOK, status, raw)["archived"])
		status, _, raw = h.do(t, http.MethodPut, path, adminKey, obj{"description": "Renewed."})
		require.Equal(t, false, decode[obj](t, http.StatusOK, status, raw)["archived"])
		h.publish(t, h.tenant(t), name, `{"any":"thing"}`)

		// A tenant key may read event types but not declare them.
		_, key := h.tenantKey(t, h.tenant(t))
		status, header, raw := h.do(t, http.MethodPut, path, key, obj{"description": "mine"})
		requireProblem(t, http.StatusForbidden, status, header, raw)
	})

	for _, tc := range []struct {
		name, path, field string
		body              obj
	}{
		{"bad name", "invoice..paid", "name", obj{}},
		{"body name differs", uniq("put.a"), "name", obj{"name": "other.name"}},
		{"schema not a JSON Schema", uniq("put.b"), "schema", obj{"schema": obj{"type": 12}}},
		{"schema refers outside itself", uniq("put.c"), "schema",
			obj{"schema": obj{"$ref": "https://example.com/schema.json"}}},
		{"example breaks the schema", uniq("put.d"), "example/amount",
			obj{"schema": json.RawMessage(amountSchema), "example": obj{"amount": "ten"}}},
		{"description too long", uniq("put.e"), "description", obj{"description": strings.Repeat("x", 2001)}},
	} {
		t.Run("put refuses "+tc.name, func(t *testing.T) {
			t.Parallel()
			status, header, raw := h.do(t, http.MethodPut, "/api/v1/event-types/"+tc.path, adminKey, tc.body)
			requireInvalid(t, tc.field, status, header, raw)
			if eventTypeName(tc.path) {
				status, header, raw = h.do(t, http.MethodGet, "/api/v1/event-types/"+tc.path, adminKey, nil)
				requireProblem(t, http.StatusNotFound, status, header, raw)
			}
		})
	}

	t.Run("put does not clobber a schema with an invalid one", func(t *testing.T) {
		t.Parallel()
		name := h.eventType(t, amountSchema)
		status, header, raw := h.do(t, http.MethodPut, "/api/v1/event-types/"+name, adminKey,
			obj{"schema": obj{"type": "nope"}})
		requireInvalid(t, "schema", status, header, raw)
		status, _, raw = h.do(t, http.MethodGet, "/api/v1/event-types/"+name, adminKey, nil)
		require.JSONEq(t, amountSchema, string(mustJSON(t, decode[obj](t, http.StatusOK, status, raw)["schema"])))
	})

	t.Run("delete archives", func(t *testing.T) {
		t.Parallel()
		name := h.eventType(t, "")
		tn := h.tenant(t)
		status, _, raw := h.do(t, http.MethodDelete, "/api/v1/event-types/"+name, adminKey, nil)
		got := decode[obj](t, http.StatusOK, status, raw)
		require.Equal(t, true, got["archived"])

		status, _, raw = h.do(t, http.MethodGet, "/api/v1/event-types/"+name, adminKey, nil)
		require.Equal(t, true, decode[obj](t, http.StatusOK, status, raw)["archived"])
		require.NotContains(t, names(h.list(t, "/api/v1/event-types?limit=250", adminKey)), name)
		require.Contains(t, names(h.list(t, "/api/v1/event-types?limit=250&include_archived=true", adminKey)), name)

		status, header, raw := h.do(t, http.MethodPost, "/api/v1/tenants/"+tn+"/messages", adminKey,
			obj{"event_type": name, "payload": obj{"a": 1}})
		p := requireInvalid(t, "event_type", status, header, raw)
		require.Contains(t, p.Detail, "archived")
		require.Empty(t, h.list(t, "/api/v1/tenants/"+tn+"/messages", adminKey).Data)

		// Un-archiving makes it publishable again.
		status, _, raw = h.do(t, http.MethodPatch, "/api/v1/event-types/"+name, adminKey, obj{"archived": false})
		require.Equal(t, false, decode[obj](t, http.StatusOK, status, raw)["archived"])
		h.publish(t, tn, name, `{"a":1}`)
	})
}

var eventTypeRE = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$`)

func eventTypeName(s string) bool { return eventTypeRE.MatchString(s) }

func names(p page) []string {
	var out []string
	for _, e := range p.Data {
		out = append(out, e["name"].(string))
	}
	return out
}
