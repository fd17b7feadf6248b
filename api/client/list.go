package client

import (
	"context"
	"encoding/json"
	"iter"
	"net/url"
	"strconv"
	"time"
)

// Page is one page of a list. NextCursor is empty on the last page;
// otherwise pass it as the Cursor of the next call. The All... methods
// follow it for you.
type Page[T any] struct {
	Data       []T    `json:"data"`
	NextCursor string `json:"next_cursor"`
}

// UnmarshalJSON reads next_cursor, which is null on the last page.
func (p *Page[T]) UnmarshalJSON(b []byte) error {
	var w struct {
		Data       []T     `json:"data"`
		NextCursor *string `json:"next_cursor"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	p.Data, p.NextCursor = w.Data, ""
	if w.NextCursor != nil {
		p.NextCursor = *w.NextCursor
	}
	return nil
}

// ListParams pages a list. Zero values mean the defaults.
type ListParams struct {
	// Limit is the page size: 1 to 250 (50).
	Limit int
	// Cursor is a previous page's NextCursor; empty starts at the first page.
	Cursor string
}

func (p *ListParams) orZero() ListParams {
	if p == nil {
		return ListParams{}
	}
	return *p
}

func (p ListParams) values() url.Values {
	q := url.Values{}
	if p.Limit != 0 {
		q.Set("limit", strconv.Itoa(p.Limit))
	}
	if p.Cursor != "" {
		q.Set("cursor", p.Cursor)
	}
	return q
}

// setTime sets q[name] to t in RFC 3339, unless t is zero.
func setTime(q url.Values, name string, t time.Time) {
	if !t.IsZero() {
		q.Set(name, t.Format(time.RFC3339Nano))
	}
}

// setString sets q[name] to v, unless v is empty.
func setString(q url.Values, name, v string) {
	if v != "" {
		q.Set(name, v)
	}
}

// all yields every item of the pages that fetch returns, starting at
// cursor and following NextCursor until the last page. An error is
// yielded once, with the zero T, and ends the iteration. Breaking out of
// the loop stops fetching.
func all[T any](ctx context.Context, cursor string, fetch func(ctx context.Context, cursor string) (*Page[T], error)) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			page, err := fetch(ctx, cursor)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range page.Data {
				if !yield(item, nil) {
					return
				}
			}
			if page.NextCursor == "" || page.NextCursor == cursor {
				return
			}
			cursor = page.NextCursor
		}
	}
}
