package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/hookd/hookd/store"
)

// Key prefixes make leaked keys recognisable to secret scanners.
const (
	AdminKeyPrefix  = "hk_admin_"
	TenantKeyPrefix = "hk_tenant_"
)

// principal is who a request acts as.
type principal struct {
	Admin    bool
	TenantID string // for tenant keys and portal sessions
	Name     string // for the record, e.g. "admin" or "key:<id>"
}

const principalKey = "hookd.principal"

func who(c echo.Context) principal {
	p, _ := c.Get(principalKey).(principal)
	return p
}

// HashKey is how API keys are stored: SHA-256 of the whole key. Keys are
// 32 random bytes, so a fast hash is enough.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// authenticate finds the principal from the bearer key (an API key or an
// embedded portal's session token) or, without one, from the portal
// session cookie (see sessionPrincipal).
func (s *server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := unescapeParams(c); err != nil {
			return err
		}
		auth := c.Request().Header.Get("Authorization")
		if auth == "" {
			if ck, err := c.Cookie(SessionCookie); err == nil && ck.Value != "" {
				p, err := s.sessionPrincipal(c, ck.Value, false)
				if err != nil {
					return err
				}
				c.Set(principalKey, p)
				return next(c)
			}
		}
		// The scheme name is case-insensitive (RFC 9110).
		scheme, key, ok := strings.Cut(auth, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			return unauthorized("send an API key as 'Authorization: Bearer <key>'")
		}
		key = strings.TrimSpace(key)
		var p principal
		var err error
		if strings.HasPrefix(key, PortalSessionTokenPrefix) {
			p, err = s.sessionPrincipal(c, key, true) // an embedded portal's session
		} else {
			p, err = s.lookupKey(c, key)
		}
		if err != nil {
			return err
		}
		c.Set(principalKey, p)
		return next(c)
	}
}

// unescapeParams decodes path parameters once, so that an id sent escaped
// (acme%3Aeu, as encodeURIComponent writes acme:eu) means the same as sent
// plain. echo hands them over as they were in the path.
func unescapeParams(c echo.Context) error {
	values := c.ParamValues()
	for i, v := range values {
		if !strings.Contains(v, "%") {
			continue
		}
		u, err := url.PathUnescape(v)
		if err != nil {
			return problem(http.StatusBadRequest, "the path has a malformed escape: "+v)
		}
		values[i] = u
	}
	c.SetParamValues(values...)
	return nil
}

func unauthorized(detail string) *Problem {
	return problem(http.StatusUnauthorized, detail)
}

func (s *server) lookupKey(c echo.Context, key string) (principal, error) {
	hash := HashKey(key)
	if s.adminHash != nil && subtle.ConstantTimeCompare(hash, s.adminHash) == 1 {
		return principal{Admin: true, Name: "admin"}, nil
	}
	if p, ok := s.keys.get(hash); ok {
		return p, nil
	}
	k, err := s.st.APIKeyByHash(c.Request().Context(), hash)
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, unauthorized("the API key is not valid (unknown or revoked)")
	}
	if err != nil {
		return principal{}, err
	}
	p := principal{Admin: k.TenantID == "", TenantID: k.TenantID, Name: "key:" + k.ID.String()}
	s.keys.put(hash, p)
	return p, nil
}

// adminOnly refuses tenant keys and portal sessions.
func adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if !who(c).Admin {
			return problem(http.StatusForbidden, "this needs an admin key; a tenant key cannot do it")
		}
		return next(c)
	}
}

// tenantScope lets admins reach any tenant and everyone else only their own.
// Another tenant's resources answer 404, as if they did not exist.
func (s *server) tenantScope(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		p := who(c)
		tenant := c.Param("tenant")
		if !p.Admin && p.TenantID != tenant {
			return problem(http.StatusNotFound, "tenant "+tenant+" not found")
		}
		return next(c)
	}
}

// keyCache remembers looked-up keys briefly so that the hot path does not
// read the database on every request. A revoked key stops working on this
// node at once and on other nodes within the TTL.
type keyCache struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]cachedKey
}

type cachedKey struct {
	p       principal
	expires time.Time
}

func newKeyCache(ttl time.Duration) *keyCache {
	return &keyCache{ttl: ttl, m: map[string]cachedKey{}}
}

func (k *keyCache) get(hash []byte) (principal, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	e, ok := k.m[string(hash)]
	if !ok || time.Now().After(e.expires) {
		return principal{}, false
	}
	return e.p, true
}

func (k *keyCache) put(hash []byte, p principal) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.m) > 10000 {
		clear(k.m)
	}
	k.m[string(hash)] = cachedKey{p: p, expires: time.Now().Add(k.ttl)}
}

// forgetTenant drops a tenant's cached keys (on revoke).
func (k *keyCache) forgetTenant(tenant string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	for h, e := range k.m {
		if e.p.TenantID == tenant {
			delete(k.m, h)
		}
	}
}
