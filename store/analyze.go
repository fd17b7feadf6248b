package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
)

// HotTables are the tables that grow with traffic, whose statistics the
// planner needs to be current while they are young (AnalyzeGrown): the
// history, and River's job table, which hookd's generic plans read too (the
// attempt's record deletes a direct attempt's fallback job by its id).
var HotTables = []string{"messages", "deliveries", "attempts", "message_payloads", "river_job"}

// AnalyzeGrown runs ANALYZE on each of tables (and each of their
// partitions) that has changed by more than it held at its last ANALYZE,
// and by at least minRows rows, and returns the tables it analyzed.
//
// Why: hookd's statements are prepared once per connection, and Postgres
// settles on a generic plan for each after a few runs. On a new install
// (or a new partition) that plan is made for an empty table, where a
// sequential scan is cheapest, and it is kept until the table's statistics
// change; autovacuum first looks a minute later and then only after 10 %
// growth. An ANALYZE replaces the statistics, which makes every
// connection plan its statements again. Doubling as the rule means a
// table is analyzed a handful of times while young and never again once
// autovacuum's own thresholds come first.
func (s *Store) AnalyzeGrown(ctx context.Context, tables []string, minRows int) ([]string, error) {
	rows, err := s.db.Query(ctx, `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname)
		FROM pg_stat_user_tables st
		JOIN pg_class c ON c.oid = st.relid
		JOIN pg_namespace n ON n.oid = c.relnamespace
		LEFT JOIN pg_inherits i ON i.inhrelid = c.oid
		LEFT JOIN pg_class p ON p.oid = i.inhparent
		WHERE n.nspname = current_schema() AND c.relkind = 'r'
		  AND (c.relname = ANY($1) OR p.relname = ANY($1))
		  AND st.n_mod_since_analyze >= greatest($2, c.reltuples)
		ORDER BY st.n_mod_since_analyze DESC`, tables, minRows)
	if err != nil {
		return nil, fmt.Errorf("find tables to analyze: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("find tables to analyze: %w", err)
	}
	for _, name := range names {
		// name is quoted by Postgres itself, above.
		if _, err := s.db.Exec(ctx, "ANALYZE "+name); err != nil {
			return nil, fmt.Errorf("analyze %s: %w", name, err)
		}
	}
	return names, nil
}
