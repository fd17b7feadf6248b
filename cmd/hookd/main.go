// Command hookd is the webhook sending service: `hookd dev` runs it on a
// private Postgres for local work, `hookd serve` runs it in production,
// `hookd migrate` applies the schema and `hookd replay` re-sends deliveries
// in bulk.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

// command is one subcommand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, a cmdArgs) error
}

// cmdArgs is what a subcommand is given.
type cmdArgs struct {
	args   []string
	stdout io.Writer
	stderr io.Writer
	getenv func(string) string
	// stopSignals turns the first SIGINT/SIGTERM's handling off, so that a
	// second one ends the process at once.
	stopSignals func()
}

func commands() []command {
	return []command{
		{"dev", "run hookd with a private Postgres, for local work", runDev},
		{"serve", "run hookd on DATABASE_URL, as API, worker or both", runServe},
		{"migrate", "apply hookd's and River's migrations to DATABASE_URL", runMigrate},
		{"replay", "re-send the deliveries that match a filter", runReplay},
		{"gen-secret-key", "print a new key for HOOKD_SECRET_KEY", runGenSecretKey},
		{"rotate-secret-key", "re-encrypt stored secrets from HOOKD_SECRET_KEY to HOOKD_NEW_SECRET_KEY", runRotateSecretKey},
		{"version", "print hookd's version", runVersion},
		{"help", "show this help, or a command's (hookd help dev)", nil},
	}
}

// defaultGCPercent is hookd's GOGC unless the environment sets one. hookd's
// heap is small (tens of MiB) and its garbage is many short-lived
// per-delivery objects, so the default of 100 runs the collector very often:
// 400 measured ~20% less CPU per delivery for ~50 MiB more memory.
const defaultGCPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(defaultGCPercent)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, stop)
	stop()
	os.Exit(code)
}

// run runs the subcommand named by args[0] and returns the exit code: 0,
// 1 when something failed, 2 for a mistake in flags or environment.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, getenv func(string) string, stopSignals func()) int {
	if len(args) == 0 {
		printUsage(stderr)
		return 2
	}
	name, rest := args[0], args[1:]
	switch name {
	case "help", "-h", "-help", "--help":
		if len(rest) == 0 {
			printUsage(stdout)
			return 0
		}
		name, rest = rest[0], []string{"-h"}
	case "-v", "-version", "--version":
		name = "version"
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		if c.run == nil { // hookd help help
			printUsage(stdout)
			return 0
		}
		err := c.run(ctx, cmdArgs{args: rest, stdout: stdout, stderr: stderr, getenv: getenv, stopSignals: stopSignals})
		if errors.Is(err, errHelp) {
			return 0
		}
		if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
			fmt.Fprintln(stderr, "interrupted")
			return 130
		}
		if err != nil {
			fmt.Fprintln(stderr, err)
		}
		return exitCode(err)
	}
	fmt.Fprintf(stderr, "hookd: unknown command %q\n\n", name)
	printUsage(stderr)
	return 2
}

func printUsage(w io.Writer) {
	fmt.Fprint(w, "hookd sends webhooks: publish events over REST, hookd signs and delivers them.\n\nusage: hookd <command> [flags]\n\ncommands:\n")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
environment:
  DATABASE_URL              Postgres URL (required by serve, migrate, replay; dev starts its own without it)
  HOOKD_SCHEMA              Postgres schema of hookd's tables and River's, created by migrate (public)
  HOOKD_ADDR                listen address (serve: :8080, dev: 127.0.0.1:8080)
  HOOKD_ADMIN_KEY           the bootstrap admin key (required by serve; dev generates one)
  HOOKD_RETRY_SCHEDULE      waits between attempts, e.g. 5s,5m,30m,2h,5h,10h,10h (the default)
  HOOKD_ALLOW_NETWORKS      private networks deliveries may reach anyway, e.g. 10.1.0.0/16,fd00::/8 (dev adds loopback)
  HOOKD_MAX_PAYLOAD_BYTES   largest payload accepted by publish (1048576)
  HOOKD_WORKERS             deliveries attempted at once by one process (256)
  HOOKD_DB_MAX_CONNS        Postgres connections per process (40)
  HOOKD_LOG_LEVEL           debug, info, warn or error (info)
  HOOKD_LOG_FORMAT          text or json (text)
  OTEL_EXPORTER_OTLP_ENDPOINT  send traces over OTLP to this collector URL, e.g. http://otel-collector:4318 (none when unset)
  OTEL_EXPORTER_OTLP_PROTOCOL  http/protobuf (the default) or grpc

Run 'hookd help <command>' for a command's flags.
`)
}

func runVersion(_ context.Context, a cmdArgs) error {
	fs := newFlagSet("version", "version", "Prints hookd's version.")
	if err := fs.parse(a.args, a.stdout); err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "hookd %s\n", Version())
	return nil
}
