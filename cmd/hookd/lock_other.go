//go:build !unix

package main

// lockDataDir does nothing where flock is missing; the private Postgres
// still refuses a second postmaster on the same data dir.
func lockDataDir(_, _ string) (release func(), err error) {
	return func() {}, nil
}
