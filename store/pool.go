package store

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	pgxuuid "github.com/vgarvardt/pgx-google-uuid/v5"
)

// ConfigurePool readies cfg's connections for hookd's statements: uuid.UUID
// values (and slices of them, which every batched statement passes) are
// encoded and scanned by pgx's binary uuid codec. Without it pgx goes
// through uuid.UUID's driver.Valuer, as text, found by reflection for each
// element: under load that was a tenth of hookd's CPU. A pool that is not
// configured (one a PublishTx caller brings) works all the same, slower.
func ConfigurePool(cfg *pgxpool.Config) {
	prev := cfg.AfterConnect
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error {
		pgxuuid.Register(c.TypeMap())
		if prev != nil {
			return prev(ctx, c)
		}
		return nil
	}
}
