package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/console"
	"github.com/rotator-pam/rotator/daemon"
	"github.com/rotator-pam/rotator/jobs"
	"github.com/rotator-pam/rotator/notify"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/schedule"
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
	sv, err := startServer(ctx, a, s, cfg, logger, nil)
	if err != nil {
		return err
	}
	sv.run(ctx)
	sv.stop()
	return nil
}

// server is what `serve` runs, and `demo` too: the daemon (recovery, the
// scheduler loop, the job queue's workers), the console, /healthz and
// /metrics.
type server struct {
	cfg    config.Config
	d      *daemon.Daemon
	rot    *rotator.Rotator
	q      *jobs.Queue
	srv    *http.Server
	logger *slog.Logger
	// lock is the data folder's: one serve at a time.
	lock *daemon.DataLock
	// URL is the console's address.
	URL string
}

// startServer recovers unfinished rotations, loads the schedule and starts
// the workers and the HTTP listener. tune, when set, adjusts the rotator
// before anything runs.
func startServer(ctx context.Context, a *app, s *store.Store, cfg config.Config, logger *slog.Logger, tune func(*rotator.Rotator)) (*server, error) {
	addr := cfg.Serve.Addr
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, usagef("--addr %q: %v", addr, err)
	}
	useTLS := cfg.Serve.TLSCert != ""
	if err := cfg.Serve.CheckAddr(); err != nil {
		return nil, usagef("--addr %v", err)
	}
	// Loaded first: a bad certificate stops serve with the reason, before
	// anything else is started or locked.
	var cert tls.Certificate
	if useTLS {
		if cert, err = tls.LoadX509KeyPair(cfg.Serve.TLSCert, cfg.Serve.TLSKey); err != nil {
			return nil, fmt.Errorf("serve.tls_cert and serve.tls_key: %w", err)
		}
	}
	// One serve per data folder: holding the lock, any job the queue
	// shows running was left by a process that died.
	lock, err := daemon.LockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			lock.Release()
		}
	}()
	if err := jobs.Migrate(ctx, cfg.VaultPath()); err != nil {
		return nil, err
	}
	if n, err := jobs.ReleaseOrphaned(ctx, cfg.VaultPath()); err != nil {
		return nil, err
	} else if n > 0 {
		logger.Info("jobs left running by a process that died are queued again", "jobs", n)
	}
	metrics, err := daemon.NewMetrics()
	if err != nil {
		return nil, err
	}
	rot := a.newRotator(s, cfg, false)
	rot.OnStep, rot.OnEvent, rot.Logger, rot.Actor = nil, nil, logger, "scheduler"
	if o, ok := rot.Opener.(rotator.BrowserOpener); ok {
		o.Logger = logger
		rot.Opener = o
	}
	if cfg.Console.MaxHeld > 0 {
		rot.Holds = &rotator.Holds{Keep: cfg.Console.KeepPaused, Max: cfg.Console.MaxHeld, Now: a.now}
	}
	if tune != nil {
		tune(rot)
	}
	d := &daemon.Daemon{
		Store:   s,
		Rotator: rot,
		Scheduler: &schedule.Scheduler{Store: s, Policy: schedule.Policy{MaxChanges: cfg.Rotation.MaxChangesPerDay, MinGap: cfg.Rotation.MinGap},
			DefaultSpec: cfg.Schedule.Default, Jitter: cfg.Schedule.Jitter, MaxFailures: cfg.Schedule.MaxFailures,
			Backoff: schedule.Backoff{Base: cfg.Schedule.BackoffBase, Max: cfg.Schedule.BackoffMax}, Now: a.now},
		Metrics:       metrics,
		Logger:        logger,
		Notify:        &notify.Webhook{URL: cfg.Notify.WebhookURL, Logger: logger},
		PerSite:       cfg.Serve.PerSite,
		MaxConcurrent: cfg.Serve.MaxConcurrent,
		Now:           a.now,
	}
	rot.OnPause = d.Paused
	con := &console.Server{Store: s, Rotator: rot, Hosts: append([]string{host}, cfg.Serve.Hosts...), Secure: useTLS,
		Logger: logger, Now: a.now, Context: ctx, SessionTTL: cfg.Console.SessionTTL}
	conHandler, err := con.Handler()
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", d.Handler())
	mux.Handle("GET /healthz", d.Handler())
	mux.Handle("/", conHandler)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	// The request log never holds a header, a cookie or a body: the token
	// and session cookies stay out of it.
	// The Host check covers every path of the listener, not only the
	// console's: /metrics and /healthz answer no other name either.
	srv := &http.Server{Handler: con.CheckHost(mux), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	scheme := "http"
	if useTLS {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
		ln = tls.NewListener(ln, srv.TLSConfig)
	}
	go srv.Serve(ln)
	sv := &server{cfg: cfg, d: d, rot: rot, srv: srv, logger: logger, URL: scheme + "://" + ln.Addr().String() + "/"}
	logger.Info("serving", "addr", ln.Addr().String(), "console", sv.URL)
	if _, err := s.ConsoleToken(ctx); err != nil {
		logger.Warn("the console has no access token: nobody can sign in until `rotator token new` makes one")
	}

	if err := d.Recover(ctx); err != nil {
		srv.Close()
		return nil, err
	}
	if err := d.Scheduler.Load(ctx); err != nil {
		srv.Close()
		return nil, err
	}
	// Rotations paused for an operator wait in their job without a
	// browser slot: the queue runs that many more workers, and a job
	// lasts as long as a pause may.
	q, err := jobs.Open(cfg.VaultPath(), d.Work, jobs.Options{MaxWorkers: cfg.Serve.MaxConcurrent + cfg.Console.MaxHeld,
		JobTimeout: 15*time.Minute + cfg.Console.KeepPaused, Logger: logger})
	if err != nil {
		srv.Close()
		return nil, err
	}
	d.Queue = q
	sv.q = q
	if err := q.Start(context.WithoutCancel(ctx)); err != nil {
		srv.Close()
		return nil, err
	}
	sv.lock, ok = lock, true
	return sv, nil
}

// run schedules until ctx ends.
func (sv *server) run(ctx context.Context) { sv.d.Run(ctx) }

// stop lets running rotations finish within serve.shutdown_timeout, then
// closes everything.
func (sv *server) stop() {
	sv.logger.Info("stopping: running rotations get time to finish", "timeout", sv.cfg.Serve.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), sv.cfg.Serve.ShutdownTimeout)
	defer cancel()
	if err := sv.q.Stop(sctx); err != nil && !errors.Is(err, context.Canceled) {
		sv.logger.Error("stop workers", "err", err)
	}
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer hcancel()
	sv.srv.Shutdown(hctx)
	sv.srv.Close()
	sv.d.Notify.Close(hctx)
	sv.lock.Release()
}
