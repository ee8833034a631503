package main

import (
	"context"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/daemon"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

type serveOptions struct {
	addr string
}

func newServeCmd(a *app) *cobra.Command {
	var opts serveOptions
	c := &cobra.Command{
		Use:   "serve [--addr HOST:PORT]",
		Short: "Run the scheduler, the workers, the operator console and /metrics until stopped",
		Long: `serve runs in one process: first it recovers every account an earlier process
left unfinished (not one waiting for an operator: needs_operator and paused
accounts wait until cleared); then the scheduler queues each account when
its cron spec says (held back by the cap and the minimum gap), the workers
rotate (at most serve.max_concurrent at once and serve.per_site per site),
and the operator console, /healthz and /metrics answer on serve.addr
(default 127.0.0.1:8787). A rotation that meets a CAPTCHA or a trust prompt
keeps its browser for console.keep_paused (30m) so an operator can resolve
it live in the console. An address beyond loopback needs serve.tls_cert and
serve.tls_key. One serve runs per data folder (a lock file, serve.lock, in
it): a second is refused, and a job a killed serve left running is run
again at once by the next. Logs are JSON on stderr. SIGTERM lets running
rotations finish within serve.shutdown_timeout.`,
		Example: `  rotator serve
  rotator serve --addr 127.0.0.1:9000`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error { return runServe(cmd.Context(), a, opts) },
	}
	c.Flags().StringVar(&opts.addr, "addr", "", "listen address (default: serve.addr, 127.0.0.1:8787)")
	return c
}

func runServe(ctx context.Context, a *app, opts serveOptions) error {
	s, cfg, err := a.openVault(ctx)
	if err != nil {
		return err
	}
	defer s.Close()
	if opts.addr != "" {
		cfg.Serve.Addr = opts.addr
	}
	logger := slog.New(slog.NewJSONHandler(a.stderr, nil))
	sv, err := startServer(ctx, a, s, cfg, logger, a.tune)
	if err != nil {
		return err
	}
	sv.Run(ctx)
	sv.Stop()
	return nil
}

// startServer starts what `serve` runs with the command line's rotator;
// tune, when set, adjusts the rotator before anything runs.
func startServer(ctx context.Context, a *app, s *store.Store, cfg config.Config, logger *slog.Logger, tune func(*rotator.Rotator)) (*daemon.Server, error) {
	if err := cfg.Serve.CheckAddr(); err != nil {
		return nil, usagef("--addr %v", err)
	}
	rot := rotator.FromConfig(cfg, s, rotator.Wiring{Now: a.now, Actor: "scheduler", Logger: logger, BrowserLogger: logger})
	if tune != nil {
		tune(rot)
	}
	return daemon.Start(ctx, daemon.Options{Store: s, Config: cfg, Rotator: rot, Logger: logger, Now: a.now})
}
