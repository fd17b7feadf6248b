package main

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCheckLoopbackURL(t *testing.T) {
	t.Parallel()

	tests := []struct {
		url string
		ok  bool
	}{
		{"http://127.0.0.1:8080", true},
		{"http://127.0.0.1:8080/", true},
		{"https://127.0.0.1", true},
		{"http://127.5.6.7:80", true},
		{"http://[::1]:8080", true},
		{"http://localhost:8080", true},
		{"http://LOCALHOST:8080", true},
		{"http://[::ffff:127.0.0.1]:8080", true},
		{"http://10.0.0.5:8080", false},
		{"http://192.168.1.1:8080", false},
		{"http://0.0.0.0:8080", false},
		{"http://[::]:8080", false},
		{"http://example.com", false},
		{"http://localhost.example.com", false},
		{"http://127.0.0.1.nip.io", false},
		{"http://[fe80::1]:8080", false},
		{"ftp://127.0.0.1", false},
		{"127.0.0.1:8080", false},
		{"http://user:pw@127.0.0.1:8080", false},
		{"http://127.0.0.1:8080?x=1", false},
		{"", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			t.Parallel()
			_, err := checkLoopbackURL(tt.url)
			if tt.ok {
				require.NoError(t, err)
			} else {
				require.Error(t, err)
			}
		})
	}
}

func TestCheckLoopbackDial(t *testing.T) {
	t.Parallel()

	tests := []struct {
		network, address string
		ok               bool
	}{
		{"tcp", "127.0.0.1:5432", true},
		{"tcp4", "127.0.0.53:53", true},
		{"tcp6", "[::1]:8080", true},
		{"unix", "/var/run/postgresql/.s.PGSQL.5432", true},
		{"tcp", "10.1.2.3:5432", false},
		{"tcp", "93.184.216.34:443", false},
		{"tcp6", "[2001:db8::1]:443", false},
		{"tcp", "localhost:80", false}, // the dialer sees resolved addresses only
	}
	for _, tt := range tests {
		err := checkLoopbackDial(tt.network, tt.address, nil)
		if tt.ok {
			require.NoError(t, err, "%s %s", tt.network, tt.address)
		} else {
			require.Error(t, err, "%s %s", tt.network, tt.address)
		}
	}
}
