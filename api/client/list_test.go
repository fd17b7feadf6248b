package client_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hookd/hookd/api/client"
)

// TestAllFollowsNextCursor pages through a real hookd's list.
func TestAllFollowsNextCursor(t *testing.T) {
	t.Parallel()
	h := newHookd(t)
	ctx := t.Context()
	c := client.New(h.url, adminKey)
	_, err := c.UpsertTenant(ctx, "acme", client.TenantParams{Name: "Acme"})
	require.NoError(t, err)
	_, err = c.CreateEventType(ctx, client.EventTypeParams{Name: "invoice.paid"})
	require.NoError(t, err)
	var published []string
	for i := range 5 {
		m, err := c.Publish(ctx, "acme", client.PublishParams{EventType: "invoice.paid", Payload: map[string]any{"n": i}})
		require.NoError(t, err)
		published = append([]string{m.ID.String()}, published...) // newest first
	}
	pages := func() int { return h.ops.succeeded()["listMessages"] }

	t.Run("every page", func(t *testing.T) {
		before := pages()
		var got []string
		for m, err := range c.AllMessages(ctx, "acme", &client.ListMessagesParams{Limit: 2, EventType: "invoice.paid"}) {
			require.NoError(t, err)
			got = append(got, m.ID.String())
		}
		require.Equal(t, published, got)
		require.Equal(t, 3, pages()-before, "pages of 2, 2 and 1")
	})
	t.Run("from a cursor", func(t *testing.T) {
		first, err := c.ListMessages(ctx, "acme", &client.ListMessagesParams{Limit: 2})
		require.NoError(t, err)
		require.NotEmpty(t, first.NextCursor)
		var got []string
		for m, err := range c.AllMessages(ctx, "acme", &client.ListMessagesParams{Limit: 2, Cursor: first.NextCursor}) {
			require.NoError(t, err)
			got = append(got, m.ID.String())
		}
		require.Equal(t, published[2:], got)
	})
	t.Run("break stops fetching", func(t *testing.T) {
		before := pages()
		n := 0
		for _, err := range c.AllMessages(ctx, "acme", &client.ListMessagesParams{Limit: 2}) {
			require.NoError(t, err)
			if n++; n == 3 {
				break
			}
		}
		require.Equal(t, 2, pages()-before, "the third page is never asked for")
	})
	t.Run("an error ends it", func(t *testing.T) {
		var errs []error
		for m, err := range c.AllMessages(ctx, "acme", &client.ListMessagesParams{Cursor: "not-a-cursor"}) {
			require.Zero(t, m)
			errs = append(errs, err)
		}
		require.Len(t, errs, 1)
		e := requireProblem(t, http.StatusUnprocessableEntity, errs[0])
		_, ok := e.Field("cursor")
		require.True(t, ok, fmt.Sprint(e.Errors))
	})
	t.Run("a last page without a cursor", func(t *testing.T) {
		page, err := c.ListMessages(ctx, "acme", nil)
		require.NoError(t, err)
		require.Len(t, page.Data, 5)
		require.Empty(t, page.NextCursor, "next_cursor is null on the last page")
	})
}
