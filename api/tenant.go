package api

import (
	"encoding/json"
	"net/http"
	"regexp"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/store"
)

var tenantIDPattern = regexp.MustCompile(`^[A-Za-z0-9._:-]{1,128}$`)

// isTenantID tells whether id can be a new tenant's id. "." and ".." fit
// the pattern but cannot be a path segment: clients resolve them away.
func isTenantID(id string) bool {
	return tenantIDPattern.MatchString(id) && id != "." && id != ".."
}

type tenantJSON struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Metadata  json.RawMessage `json:"metadata"`
	CreatedAt time.Time       `json:"created_at"`
	UpdatedAt time.Time       `json:"updated_at"`
}

func toTenant(t store.Tenant) tenantJSON {
	return tenantJSON{ID: t.ID, Name: t.Name, Metadata: rawObject(t.Metadata), CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

type tenantBody struct {
	Name     string          `json:"name"`
	Metadata json.RawMessage `json:"metadata"`
}

// badTenantID is what is wrong with a tenant id that isTenantID refuses.
const badTenantID = "must be 1 to 128 characters of letters, digits and . _ : -, and not . or .."

// tenant validates the body as the tenant id; prefix goes before the
// fields it names ("tenant." when the body is part of another).
func (b tenantBody) tenant(id, prefix string) (store.Tenant, error) {
	if len(b.Name) > maxTenantName {
		return store.Tenant{}, fieldErr(prefix+"name", "must be at most %d bytes", maxTenantName)
	}
	if !isNull(b.Metadata) && !isObject(b.Metadata) {
		return store.Tenant{}, fieldErr(prefix+"metadata", "must be a JSON object")
	}
	if len(b.Metadata) > maxMetadataBytes {
		return store.Tenant{}, fieldErr(prefix+"metadata", "must be at most %d bytes of JSON", maxMetadataBytes)
	}
	t := store.Tenant{ID: id, Name: b.Name}
	if !isNull(b.Metadata) {
		t.Metadata = b.Metadata
	}
	return t, nil
}

func (s *server) putTenant(c echo.Context) error {
	id := c.Param("tenant")
	if !isTenantID(id) {
		return fieldErr("tenant", badTenantID)
	}
	var body tenantBody
	if err := bind(c, &body); err != nil {
		return err
	}
	tn, err := body.tenant(id, "")
	if err != nil {
		return err
	}
	t, created, err := s.st.UpsertTenant(c.Request().Context(), tn)
	if err != nil {
		return err
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	return c.JSON(status, toTenant(t))
}

func (s *server) listTenants(c echo.Context) error {
	p, err := page(c)
	if err != nil {
		return err
	}
	rows, next, err := s.st.ListTenants(c.Request().Context(), p)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(rows, next, toTenant))
}

func (s *server) getTenant(c echo.Context) error {
	t, err := s.st.GetTenant(c.Request().Context(), c.Param("tenant"))
	if err != nil {
		return notFound(err, "tenant %s", c.Param("tenant"))
	}
	return c.JSON(http.StatusOK, toTenant(t))
}

func (s *server) deleteTenant(c echo.Context) error {
	if err := s.svc.DeleteTenant(c.Request().Context(), c.Param("tenant")); err != nil {
		return notFound(err, "tenant %s", c.Param("tenant"))
	}
	s.keys.forgetTenant(c.Param("tenant"))
	return c.NoContent(http.StatusNoContent)
}
