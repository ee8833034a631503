package daemon

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/console"
	"github.com/rotator-pam/rotator/jobs"
	"github.com/rotator-pam/rotator/notify"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/schedule"
	"github.com/rotator-pam/rotator/store"
)

// Server is what `rotator serve` runs, and `rotator demo` too: the daemon
// (recovery, the scheduler loop, the job queue's workers), the console,
// /healthz and /metrics, on one listener.
type Server struct {
	cfg    config.Config
	d      *Daemon
	q      *jobs.Queue
	srv    *http.Server
	logger *slog.Logger
	// lock is the data folder's: one serve at a time.
	lock *DataLock
	// URL is the console's address.
	URL string
}

// Options are what Start wires together.
type Options struct {
	Store  *store.Store
	Config config.Config
	// Rotator runs the rotations; Start sets its Events (the daemon) and,
	// when the console may hold browsers, its Holds.
	Rotator *rotator.Rotator
	Logger  *slog.Logger
	Now     func() time.Time
}

// Start takes the data folder's lock, recovers unfinished rotations, loads
// the schedule and starts the workers and the HTTP listener. The
// configuration must have passed config.Validate (the console beyond
// loopback only over TLS).
func Start(ctx context.Context, o Options) (*Server, error) {
	cfg, logger := o.Config, o.Logger
	cert, err := loadCert(cfg)
	if err != nil {
		return nil, err
	}
	// One serve per data folder: holding the lock, any job the queue
	// shows running was left by a process that died.
	lock, err := LockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	sv := &Server{cfg: cfg, logger: logger, lock: lock}
	if err := sv.start(ctx, o, cert); err != nil {
		if sv.srv != nil {
			sv.srv.Close()
		}
		if sv.q != nil {
			sv.q.Stop(context.WithoutCancel(ctx)) // never started: closes its connection
		}
		lock.Release()
		return nil, err
	}
	return sv, nil
}

// loadCert loads the TLS certificate first: a bad one stops serve with the
// reason, before anything else is started or locked.
func loadCert(cfg config.Config) (*tls.Certificate, error) {
	if cfg.Serve.TLSCert == "" {
		return nil, nil
	}
	cert, err := tls.LoadX509KeyPair(cfg.Serve.TLSCert, cfg.Serve.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("serve.tls_cert and serve.tls_key: %w", err)
	}
	return &cert, nil
}

func (sv *Server) start(ctx context.Context, o Options, cert *tls.Certificate) error {
	cfg, logger := o.Config, o.Logger
	if err := jobs.Migrate(ctx, cfg.VaultPath()); err != nil {
		return err
	}
	holder, err := o.Store.HolderID()
	if err != nil {
		return err
	}
	d, err := newDaemon(o)
	if err != nil {
		return err
	}
	sv.d = d
	// Rotations paused for an operator wait in their job without a
	// browser slot: the queue runs that many more workers, and a job
	// lasts as long as a pause may.
	q, err := jobs.Open(cfg.VaultPath(), jobs.Handlers{Rotate: d.Work, Notify: d.Notify.Deliver},
		jobs.Options{MaxWorkers: cfg.Serve.MaxConcurrent + cfg.Console.MaxHeld,
			JobTimeout: jobTimeout(cfg), Logger: logger, ID: holder})
	if err != nil {
		return err
	}
	if n, err := q.ReleaseOrphaned(ctx, o.Store.HolderDead); err != nil {
		q.Stop(context.WithoutCancel(ctx))
		return err
	} else if n > 0 {
		logger.Info("jobs left running by a worker that died are queued again", "jobs", n)
	}
	// The daemon is complete before anything runs: recovery may queue a
	// webhook delivery.
	d.Queue, sv.q = q, q
	if err := sv.listen(ctx, o, cert); err != nil {
		return err
	}
	if err := d.Recover(ctx); err != nil {
		return err
	}
	if err := d.Scheduler.Load(ctx); err != nil {
		return err
	}
	return sv.q.Start(context.WithoutCancel(ctx))
}

// newDaemon wires the daemon to the configuration: the scheduler, the
// metrics, the webhook, and the rotator's events.
func newDaemon(o Options) (*Daemon, error) {
	cfg, rot := o.Config, o.Rotator
	metrics, err := NewMetrics()
	if err != nil {
		return nil, err
	}
	if cfg.Console.MaxHeld > 0 && rot.Holds == nil {
		rot.Holds = &rotator.Holds{Keep: cfg.Console.KeepPaused, Max: cfg.Console.MaxHeld, Now: o.Now}
	}
	d := &Daemon{
		Store:   o.Store,
		Rotator: rot,
		Scheduler: &schedule.Scheduler{Store: o.Store, Policy: cfg.Rotation.Policy(),
			DefaultSpec: cfg.Schedule.Default, Jitter: cfg.Schedule.Jitter, MaxFailures: cfg.Schedule.MaxFailures,
			Backoff: schedule.Backoff{Base: cfg.Schedule.BackoffBase, Max: cfg.Schedule.BackoffMax}, Now: o.Now},
		Metrics:       metrics,
		Logger:        o.Logger,
		Notify:        &notify.Webhook{URL: cfg.Notify.WebhookURL, Logger: o.Logger},
		PerSite:       cfg.Serve.PerSite,
		MaxConcurrent: cfg.Serve.MaxConcurrent,
		SlotStale:     jobTimeout(cfg),
		Now:           o.Now,
	}
	rot.Events = d
	return d, nil
}

// listen serves the console, /metrics and /healthz on serve.addr.
func (sv *Server) listen(ctx context.Context, o Options, cert *tls.Certificate) error {
	cfg, logger := o.Config, o.Logger
	host, _, err := net.SplitHostPort(cfg.Serve.Addr)
	if err != nil {
		return fmt.Errorf("serve.addr %q: %w", cfg.Serve.Addr, err)
	}
	peers, err := peerClient(cfg, cert)
	if err != nil {
		return err
	}
	con := &console.Server{Store: o.Store, Rotator: o.Rotator, Hosts: append([]string{host}, cfg.Serve.Hosts...), Secure: cert != nil,
		Logger: logger, Now: o.Now, Context: ctx, SessionTTL: cfg.Console.SessionTTL, Advertise: cfg.Serve.Advertise, PeerClient: peers}
	conHandler, err := con.Handler()
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", sv.d.Handler())
	mux.Handle("GET /healthz", sv.d.Handler())
	mux.Handle("/", conHandler)
	ln, err := net.Listen("tcp", cfg.Serve.Addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	// The request log never holds a header, a cookie or a body: the token
	// and session cookies stay out of it. The Host check covers every
	// path of the listener, not only the console's: /metrics and /healthz
	// answer no other name either.
	sv.srv = &http.Server{Handler: con.CheckHost(mux), ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelWarn)}
	scheme := "http"
	if cert != nil {
		sv.srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}, MinVersion: tls.VersionTLS12}
		scheme = "https"
		ln = tls.NewListener(ln, sv.srv.TLSConfig)
	}
	go sv.srv.Serve(ln)
	sv.URL = scheme + "://" + ln.Addr().String() + "/"
	logger.Info("serving", "addr", ln.Addr().String(), "console", sv.URL)
	if err := advertise(ctx, o.Store, cfg.Serve.Advertise, scheme, ln.Addr(), logger); err != nil {
		return err
	}
	if _, err := o.Store.ConsoleToken(ctx); errors.Is(err, store.ErrConsoleTokenAltered) {
		logger.Error("console access token", "err", err)
	} else if err != nil {
		logger.Warn("the console has no access token: nobody can sign in until `rotator token new` makes one")
	}
	return nil
}

// Run schedules until ctx ends.
func (sv *Server) Run(ctx context.Context) { sv.d.Run(ctx) }

// Stop lets running rotations finish within serve.shutdown_timeout, then
// closes everything. Webhook deliveries not made by then stay queued for
// the next start.
func (sv *Server) Stop() {
	sv.logger.Info("stopping: running rotations get time to finish", "timeout", sv.cfg.Serve.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), sv.cfg.Serve.ShutdownTimeout)
	defer cancel()
	if err := sv.q.Stop(sctx); err != nil && !errors.Is(err, context.Canceled) {
		sv.logger.Error("stop workers", "err", err)
	}
	if err := sv.d.Rotator.Close(); err != nil {
		sv.logger.Error("stop the browser", "err", err)
	}
	hctx, hcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer hcancel()
	sv.srv.Shutdown(hctx)
	sv.srv.Close()
	sv.lock.Release()
}

// advertise records in the vault where the other workers reach this
// worker's console: serve.advertise, else the listener's own address
// unless it is every interface's.
func advertise(ctx context.Context, st *store.Store, configured, scheme string, addr net.Addr, logger *slog.Logger) error {
	u := configured
	if tcp, ok := addr.(*net.TCPAddr); ok && u == "" && !tcp.IP.IsUnspecified() {
		u = scheme + "://" + tcp.String()
	}
	switch tcp, _ := addr.(*net.TCPAddr); {
	case !store.IsURL(st.Path()):
	case u == "":
		logger.Warn("serve.advertise is not set and the console listens on every interface: operators on other workers cannot reach the pages this worker holds")
	case configured == "" && tcp != nil && tcp.IP.IsLoopback():
		logger.Info("the console listens on loopback: only workers on this machine reach the pages this worker holds (serve.addr, serve.advertise)")
	}
	return st.Advertise(ctx, u)
}

// peerClient makes the requests to other workers' consoles: it trusts
// serve.peer_ca, the system's authorities and this worker's own
// certificate (workers often share one).
func peerClient(cfg config.Config, cert *tls.Certificate) (*http.Client, error) {
	roots, err := x509.SystemCertPool()
	if err != nil || roots == nil {
		roots = x509.NewCertPool()
	}
	if cfg.Serve.PeerCA != "" {
		pem, err := os.ReadFile(cfg.Serve.PeerCA)
		if err != nil {
			return nil, fmt.Errorf("serve.peer_ca: %w", err)
		}
		if !roots.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("serve.peer_ca: %s holds no PEM certificate", cfg.Serve.PeerCA)
		}
	}
	if cert != nil {
		for _, der := range cert.Certificate {
			if c, err := x509.ParseCertificate(der); err == nil {
				roots.AddCert(c)
			}
		}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	tr.Proxy = nil // workers talk directly
	return &http.Client{Transport: tr}, nil
}

// jobTimeout bounds one rotation job: a rotation, and a pause for an
// operator within it.
func jobTimeout(cfg config.Config) time.Duration { return 15*time.Minute + cfg.Console.KeepPaused }
