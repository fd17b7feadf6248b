package api

import (
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/store"
)

// NewKey returns a new API key with the given prefix: 32 random bytes.
func NewKey(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

type newKeyJSON struct {
	ID        uuid.UUID `json:"id"`
	Key       string    `json:"key"`
	CreatedAt time.Time `json:"created_at"`
}

type keyJSON struct {
	ID        uuid.UUID `json:"id"`
	Prefix    string    `json:"prefix"`
	CreatedAt time.Time `json:"created_at"`
}

// createKey mints a tenant key; it is shown once and stored as a hash.
func (s *server) createKey(c echo.Context) error {
	ctx := c.Request().Context()
	tenant := c.Param("tenant")
	if c.Request().ContentLength != 0 {
		var body struct{} // nothing to give (yet): a field is a mistake
		if err := bind(c, &body); err != nil {
			return err
		}
	}
	if _, err := s.st.GetTenant(ctx, tenant); err != nil {
		return notFound(err, "tenant %s", tenant)
	}
	key := NewKey(TenantKeyPrefix)
	k, err := s.st.CreateAPIKey(ctx, store.APIKey{TenantID: tenant, Hash: HashKey(key), Prefix: key[:len(TenantKeyPrefix)+4]})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, newKeyJSON{ID: k.ID, Key: key, CreatedAt: k.CreatedAt})
}

func (s *server) listKeys(c echo.Context) error {
	keys, err := s.st.ListAPIKeys(c.Request().Context(), c.Param("tenant"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, listOf(keys, "", func(k store.APIKey) keyJSON {
		return keyJSON{ID: k.ID, Prefix: k.Prefix, CreatedAt: k.CreatedAt}
	}))
}

func (s *server) revokeKey(c echo.Context) error {
	id, err := uuid.Parse(c.Param("key"))
	if err != nil {
		return problem(http.StatusNotFound, "key "+c.Param("key")+" not found")
	}
	if err := s.st.RevokeAPIKey(c.Request().Context(), c.Param("tenant"), id); err != nil {
		return notFound(err, "key %s", id)
	}
	s.keys.forgetTenant(c.Param("tenant"))
	return c.NoContent(http.StatusNoContent)
}
