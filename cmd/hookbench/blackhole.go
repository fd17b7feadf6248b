package main

import (
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// blackHole is an endpoint that is down in the worst way: it listens on
// 127.0.0.1, accepts every connection and reads what comes, but never
// answers, so that each attempt to it runs into hookd's delivery timeout.
// close ends every connection it holds.
type blackHole struct {
	ln       net.Listener
	base     string
	accepted atomic.Int64

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// newBlackHole listens on a free loopback port.
func newBlackHole() (*blackHole, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("black hole listen: %w", err)
	}
	b := &blackHole{ln: ln, base: "http://" + ln.Addr().String(), conns: map[net.Conn]struct{}{}}
	b.wg.Go(b.accept)
	return b, nil
}

// url is the URL of black-hole endpoint i.
func (b *blackHole) url(i int) string { return b.base + "/hole/" + strconv.Itoa(i) }

func (b *blackHole) accept() {
	for {
		c, err := b.ln.Accept()
		if err != nil {
			return // closed
		}
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			_ = c.Close()
			return
		}
		b.conns[c] = struct{}{}
		b.mu.Unlock()
		b.accepted.Add(1)
		b.wg.Go(func() {
			// Read the request and whatever follows, answer nothing; the
			// sender gives up and closes, or close does.
			_, _ = io.Copy(io.Discard, c)
			_ = c.Close()
			b.mu.Lock()
			delete(b.conns, c)
			b.mu.Unlock()
		})
	}
}

// open is how many connections it holds now.
func (b *blackHole) open() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.conns)
}

// close stops listening and closes every connection held.
func (b *blackHole) close() {
	_ = b.ln.Close()
	b.mu.Lock()
	b.closed = true
	for c := range b.conns {
		_ = c.Close()
	}
	b.mu.Unlock()
	b.wg.Wait()
}
