// Command tasker is the Tasker service: the HTTP API and Cliq endpoints,
// the event dispatcher and workers, and the scheduler (SPEC section 2).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"syscall"

	"github.com/taskerhq/tasker/internal/httpx"
)

func main() {
	if err := run(context.Background(), os.Args, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tasker:", err)
		os.Exit(1)
	}
}

// Set by the linker (-ldflags "-X main.version=…") for releases.
var (
	version = "dev"
	commit  = ""
)

const usage = `usage: tasker [command]

commands:
  serve              run the service (the default)
  sim [flags] TEXT   play a Cliq user against a running server (--button KEY, --form JSON, --json)
  deluge [--out DIR] print or write the Cliq Deluge scripts for this deployment
  install [--dry-run] create or update the command, bot, functions and message action in Cliq
  uninstall          remove from Cliq what install created
  doctor             check the configuration, Redis, OAuth, Cliq and the clock
  listen [flags]     print a server's events live (--events TYPES); --forward-to URL posts them signed
  version            print the version

Configuration comes from TASKER_* environment variables; see README.md.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	cmd := "serve"
	if len(args) > 1 {
		cmd, args = args[1], args[2:]
	} else {
		args = nil
	}
	if u, ok := plainUsage[cmd]; ok && wantsHelp(args) {
		fmt.Fprint(stdout, u)
		return nil
	}
	switch cmd {
	case "serve":
		if len(args) > 0 {
			fmt.Fprint(stderr, serveUsage)
			return fmt.Errorf("serve: unexpected argument %q", args[0])
		}
		cfg, err := loadConfig()
		if err != nil {
			return err
		}
		return serve(ctx, cfg, newLogger(stderr, cfg.LogLevel, cfg.LogFormat), stdout)
	case "sim":
		return runSim(ctx, args, stdout, stderr)
	case "deluge":
		return runDeluge(args, stdout, stderr)
	case "install":
		return runInstall(ctx, args, stdout, stderr)
	case "uninstall":
		return runUninstall(ctx, args, stdout, stderr)
	case "doctor":
		return runDoctor(ctx, args, stdout, stderr)
	case "listen":
		return runListen(ctx, args, stdout, stderr)
	case "version", "--version", "-v":
		if len(args) > 0 {
			return fmt.Errorf("version: unexpected argument %q", args[0])
		}
		fmt.Fprintf(stdout, "tasker %s %s %s\n", version, vcsCommit(), runtime.Version())
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", cmd)
}

const serveUsage = `usage: tasker serve

Runs the HTTP server, event dispatcher, delivery workers and scheduler, or
the roles TASKER_ROLES names. Configuration comes from TASKER_* environment
variables; see README.md. SIGINT or SIGTERM shuts it down gracefully.
`

const delugeUsage = `usage: tasker deluge [--out DIR]

Renders the Deluge scripts of every Cliq handler with TASKER_PUBLIC_URL and
TASKER_CLIQ_SECRET filled in, and prints them with where each goes in Cliq;
with --out, writes them under DIR (readable by the owner only: they hold the
secret).
`

const versionUsage = `usage: tasker version

Prints the version, the commit and the Go version.
`

// plainUsage is the usage of the commands whose --help run prints before
// anything else is read: serve must not start, deluge needs no secret,
// install and doctor need no Cliq or Redis.
var plainUsage = map[string]string{
	"serve": serveUsage, "deluge": delugeUsage, "version": versionUsage,
	"install": installUsage, "uninstall": installUsage, "doctor": doctorUsage,
}

// wantsHelp reports whether args ask for help.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "-h", "-help", "--help":
			return true
		case "--":
			return false
		}
	}
	return false
}

// vcsCommit is the linker's commit, else the one the Go toolchain stamped.
func vcsCommit() string {
	if commit != "" {
		return commit
	}
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" {
				return s.Value
			}
		}
	}
	return "unknown"
}

func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: readableDurations}
	if format == "json" {
		return slog.New(httpx.LogHandler(slog.NewJSONHandler(w, opts)))
	}
	return slog.New(httpx.LogHandler(slog.NewTextHandler(w, opts)))
}

// readableDurations writes durations as "1.5s" rather than nanoseconds,
// which the JSON handler would otherwise print.
func readableDurations(_ []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindDuration {
		a.Value = slog.StringValue(a.Value.Duration().String())
	}
	return a
}

// newFlagSet returns a flag set that reports to stderr and never exits.
func newFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}
