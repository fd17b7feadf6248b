package store

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestMinV7BoundsIDsByTime(t *testing.T) {
	t.Parallel()

	before := time.Now().Add(-time.Millisecond)
	id := NewID()
	after := time.Now().Add(2 * time.Millisecond)
	require.LessOrEqual(t, minV7(before).String(), id.String(), "an id made after t is not below minV7(t)")
	require.Greater(t, minV7(after).String(), id.String(), "an id made before t is below minV7(t)")
	require.Equal(t, byte(7), byte(minV7(before).Version()))
	require.Equal(t, "00000000-0000-7000-8000-000000000000", minV7(time.Unix(0, 0)).String())
}
