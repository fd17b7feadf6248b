package main

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A black hole takes the request and never answers; close ends the
// connections it holds.
func TestBlackHole(t *testing.T) {
	t.Parallel()
	hole, err := newBlackHole()
	require.NoError(t, err)

	c, err := net.Dial("tcp", hole.ln.Addr().String())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("POST /hole/1 HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"))
	require.NoError(t, err)
	require.NoError(t, c.SetReadDeadline(time.Now().Add(300*time.Millisecond)))
	_, err = c.Read(make([]byte, 1))
	var ne net.Error
	require.ErrorAs(t, err, &ne)
	require.True(t, ne.Timeout(), "no answer: %v", err)
	require.EqualValues(t, 1, hole.accepted.Load())
	require.Eventually(t, func() bool { return hole.open() == 1 }, time.Second, 10*time.Millisecond)

	hole.close()
	require.NoError(t, c.SetReadDeadline(time.Now().Add(2*time.Second)))
	_, err = c.Read(make([]byte, 1))
	require.Error(t, err)
	require.False(t, errors.As(err, &ne) && ne.Timeout(), "closed by the black hole, not timed out: %v", err)
	require.Zero(t, hole.open())
}
