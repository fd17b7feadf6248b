package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// An endpoint's custom headers often carry credentials (Authorization,
// X-Api-Key, ...), so they are kept like its signing secrets: the whole map
// is one JSON object in endpoints.headers, sealed with the Store's [Cipher]
// and bound to the endpoint's id ("enc:v1:..."). A value that starts with
// "{" is the object in plain text: a row from before migration 0004, or one
// written without a key. Plain rows still read; [Store.SealHeaders] seals
// them, and every write seals.

func headersAAD(endpoint string) []byte {
	return []byte("hookd endpoint headers " + endpoint)
}

// sealHeaders returns the stored form of endpoint's headers h.
func (c *Cipher) sealHeaders(h map[string]string, endpoint string) string {
	if h == nil {
		h = map[string]string{}
	}
	b, _ := json.Marshal(h) // a map of strings always marshals
	return c.sealFor(string(b), headersAAD(endpoint))
}

// openHeaders reads the stored form of endpoint's headers. The error wraps
// [ErrSecretKey] when they are sealed and c does not open them.
func (c *Cipher) openHeaders(stored, endpoint string) (map[string]string, error) {
	plain, err := c.openFor(stored, headersAAD(endpoint))
	if err != nil {
		return nil, fmt.Errorf("custom headers: %w", err)
	}
	var h map[string]string
	if err := json.Unmarshal([]byte(plain), &h); err != nil {
		return nil, fmt.Errorf("custom headers: %w", err)
	}
	return h, nil
}

// sealBatch is how many endpoints [Store.SealHeaders] rewrites per
// statement.
const sealBatch = 500

// SealHeaders encrypts with the Store's [Cipher] the custom headers of
// every endpoint that still holds them in plain text: rows from before
// migration 0004, or written by a hookd without a key. `hookd serve` and
// `hookd dev` run it at start. It returns how many endpoints it sealed,
// and does nothing without a Cipher. It is safe to run from several
// processes at once: a row is only rewritten if it still holds what was
// read, and a row written meanwhile was sealed by that write.
func (s *Store) SealHeaders(ctx context.Context) (int, error) {
	if s.cipher == nil {
		return 0, nil
	}
	n := 0
	after := uuid.Nil
	for {
		rows, err := s.db.Query(ctx, `SELECT id, headers FROM endpoints
			WHERE headers NOT LIKE 'enc:%' AND id > $1 ORDER BY id LIMIT $2`, after, sealBatch)
		if err != nil {
			return n, fmt.Errorf("seal headers: %w", err)
		}
		list, err := pgx.CollectRows(rows, scanStoredHeaders)
		if err != nil {
			return n, fmt.Errorf("seal headers: %w", err)
		}
		if len(list) == 0 {
			return n, nil
		}
		ids := make([]uuid.UUID, len(list))
		olds, news := make([]string, len(list)), make([]string, len(list))
		for i, x := range list {
			h, err := s.cipher.openHeaders(x.stored, x.id.String())
			if err != nil {
				return n, fmt.Errorf("seal headers of endpoint %s: %w", x.id, err)
			}
			ids[i], olds[i], news[i] = x.id, x.stored, s.cipher.sealHeaders(h, x.id.String())
		}
		tag, err := s.db.Exec(ctx, `UPDATE endpoints e SET headers = t.new
			FROM unnest($1::uuid[], $2::text[], $3::text[]) AS t(id, old, new)
			WHERE e.id = t.id AND e.headers = t.old`, ids, olds, news)
		if err != nil {
			return n, fmt.Errorf("seal headers: %w", err)
		}
		n += int(tag.RowsAffected())
		after = list[len(list)-1].id
	}
}

// storedHeaders is one endpoint's headers column as stored.
type storedHeaders struct {
	id     uuid.UUID
	stored string
}

func scanStoredHeaders(r pgx.CollectableRow) (storedHeaders, error) {
	var x storedHeaders
	err := r.Scan(&x.id, &x.stored)
	return x, err
}

// reencryptHeaders is the custom-header half of [Store.ReencryptSecrets],
// in its transaction: every endpoint's headers from the key from to the
// key to, under the same rules as the secrets. It returns how many
// endpoints it rewrote.
func reencryptHeaders(ctx context.Context, tx pgx.Tx, from, to *Cipher) (int, error) {
	rows, err := tx.Query(ctx, `SELECT id, headers FROM endpoints ORDER BY id FOR UPDATE`)
	if err != nil {
		return 0, err
	}
	list, err := pgx.CollectRows(rows, scanStoredHeaders)
	if err != nil {
		return 0, err
	}
	var ids []uuid.UUID
	var values []string
	for _, x := range list {
		ep := x.id.String()
		sealed := strings.HasPrefix(x.stored, "enc:")
		if to != nil && sealed {
			if _, err := to.openHeaders(x.stored, ep); err == nil {
				continue // already under the new key
			}
		} else if to == nil && !sealed {
			continue // already plaintext
		}
		h, err := from.openHeaders(x.stored, ep)
		if err != nil {
			return 0, fmt.Errorf("endpoint %s: %w", x.id, err)
		}
		ids = append(ids, x.id)
		values = append(values, to.sealHeaders(h, ep))
	}
	if len(ids) == 0 {
		return 0, nil
	}
	tag, err := tx.Exec(ctx, `UPDATE endpoints e SET headers = t.headers
		FROM unnest($1::uuid[], $2::text[]) AS t(id, headers) WHERE e.id = t.id`, ids, values)
	return int(tag.RowsAffected()), err
}

// checkHeadersKey is the custom-header half of [Store.CheckSecretKey]: it
// opens the newest sealed headers, if any.
func (s *Store) checkHeadersKey(ctx context.Context) error {
	var x storedHeaders
	err := s.db.QueryRow(ctx, `SELECT id, headers FROM endpoints WHERE headers LIKE 'enc:%'
		ORDER BY id DESC LIMIT 1`).Scan(&x.id, &x.stored)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = s.cipher.openHeaders(x.stored, x.id.String())
	return err
}
