package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/internal/pgtest"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// envFakeSite, set for a rotator the test binary runs, replaces serve's
// browser with sessions on the failover test's site at that address.
const envFakeSite = "ROTATOR_TEST_FAKE_SITE"

// fakeSiteTune is serve's rotator with sessions on the fake site at url.
func fakeSiteTune(url string) func(*rotator.Rotator) {
	return func(r *rotator.Rotator) { r.Opener = siteOpener{url: url} }
}

// manySite is a site with many accounts, reached over HTTP by the sessions
// of every worker: it holds each account's password and the times it was
// changed, and records two sessions of one account open at once in live
// processes (a session of a killed worker never closes, and is no
// overlap).
type manySite struct {
	mu       sync.Mutex
	accounts map[string]*siteAccount
	overlaps []string
	dead     map[int]bool // pids of workers the test killed
	nextID   int
}

type siteAccount struct {
	password string
	changes  []time.Time
	sessions map[int]int // session id -> pid
}

type siteReq struct {
	Account, Password, New string
	PID, Session           int
}

func (s *manySite) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var q siteReq
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.accounts[q.Account]
	if a == nil {
		http.Error(w, "no such account", http.StatusNotFound)
		return
	}
	switch r.URL.Path {
	case "/open":
		for id, pid := range a.sessions {
			if !s.dead[pid] {
				s.overlaps = append(s.overlaps, fmt.Sprintf("%s: session %d of pid %d open when pid %d opened one", q.Account, id, pid, q.PID))
			}
		}
		s.nextID++
		a.sessions[s.nextID] = q.PID
		fmt.Fprint(w, s.nextID)
	case "/close":
		delete(a.sessions, q.Session)
	case "/login":
		if q.Password != a.password {
			http.Error(w, "wrong password", http.StatusUnauthorized)
		}
	case "/change":
		if q.Password != a.password {
			http.Error(w, "not signed in", http.StatusUnauthorized)
			return
		}
		a.password = q.New
		a.changes = append(a.changes, time.Now())
	}
}

// siteOpener opens sessions on the fake site.
type siteOpener struct{ url string }

func (o siteOpener) Open(ctx context.Context, acct store.Account, _ *templates.Template, _ rotator.Hooks) (rotator.Session, error) {
	sess := &siteSession{url: o.url, account: acct.Name}
	body, err := sess.post(ctx, "/open", siteReq{PID: os.Getpid()})
	if err != nil {
		return nil, err
	}
	fmt.Sscan(body, &sess.id)
	return sess, nil
}

type siteSession struct {
	url, account string
	id           int
	signedIn     bool
}

func (s *siteSession) post(ctx context.Context, path string, q siteReq) (string, error) {
	q.Account, q.Session = s.account, s.id
	b, _ := json.Marshal(q)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+path, strings.NewReader(string(b)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var out strings.Builder
	buf := make([]byte, 512)
	for {
		n, err := resp.Body.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", path, strings.TrimSpace(out.String()))
	}
	return out.String(), nil
}

func (s *siteSession) Run(ctx context.Context, flow string, vals browser.Values) error {
	var err error
	switch flow {
	case templates.FlowLogin:
		_, err = s.post(ctx, "/login", siteReq{Password: vals.Password.Reveal()})
		s.signedIn = err == nil
	case templates.FlowChange:
		if !s.signedIn {
			return errors.New("change: not signed in")
		}
		_, err = s.post(ctx, "/change", siteReq{Password: vals.Password.Reveal(), New: vals.NewPassword.Reveal()})
	case templates.FlowLogout:
		s.signedIn = false
	default:
		return fmt.Errorf("%s: no such flow", flow)
	}
	return err
}

func (s *siteSession) TryLogout(context.Context)              { s.signedIn = false }
func (s *siteSession) Rejected(context.Context) (bool, error) { return false, nil }
func (s *siteSession) Close() error {
	_, err := s.post(context.Background(), "/close", siteReq{})
	return err
}

// Several workers (`rotator serve`) on one PostgreSQL vault, with one of
// them SIGKILLed and started again every few seconds, rotate every account
// to its cap: each due run is taken by one worker, no account is in two
// runs at once, no account changes more often than its cap, and every
// account ends with the vault's password signing in on the site. Sessions
// are the fake site's, so that the test needs no Chromium.
func TestFailoverOnPostgres(t *testing.T) {
	t.Parallel()
	// 60 accounts and 8 kills keep CI's time (about 30 s and 21
	// CPU-seconds, most of it waiting for killed workers' heartbeats to go
	// stale);
	// ROTATOR_FAILOVER_ACCOUNTS=1000 is the size (75 to 95 s
	// here). For measuring (README, Scaling out): other worker counts,
	// and no kills (then "cut short" must be 0).
	accounts, workers := 60, 3
	if n, err := strconv.Atoi(os.Getenv("ROTATOR_FAILOVER_ACCOUNTS")); err == nil && n > 0 {
		accounts = n
	}
	if n, err := strconv.Atoi(os.Getenv("ROTATOR_FAILOVER_WORKERS")); err == nil && n > 0 {
		workers = n
	}
	// At most maxKills kills (ROTATOR_FAILOVER_KILLS; 0: none): a killed
	// worker's accounts wait out its heartbeat (holderStale, 10 s) before
	// another takes them, so killing until the end would mostly wait.
	maxKills := 8
	if n, err := strconv.Atoi(os.Getenv("ROTATOR_FAILOVER_KILLS")); err == nil && n >= 0 {
		maxKills = n
	}
	noKills := maxKills == 0
	dbURL, dir := pgtest.URL(t), t.TempDir()
	keyFile := filepath.Join(dir, "master.key")
	key, err := secret.CreateKeyFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	site := &manySite{accounts: map[string]*siteAccount{}, dead: map[int]bool{}}
	srv := httptest.NewServer(site)
	defer srv.Close()
	seedFailover(t, dbURL, key, site, accounts)
	cfgFile := filepath.Join(dir, "config.yaml")
	// One fake site: per_site counts across the workers.
	os.WriteFile(cfgFile, fmt.Appendf(nil, `serve: {addr: "127.0.0.1:0", max_concurrent: 4, per_site: %d, shutdown_timeout: 5s}
rotation: {max_changes_per_day: 2, min_gap: 0s}
schedule: {default: "@every 1s", jitter: 0s}
console: {max_held: 0}
`, 4*workers), 0o600)
	start := func(i int) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "--data", filepath.Join(dir, fmt.Sprint("worker", i)), "serve")
		cmd.Env = append(os.Environ(), "ROTATOR_RUN_MAIN=1", envFakeSite+"="+srv.URL, "ROTATOR_STORE="+dbURL,
			"ROTATOR_CONFIG="+cfgFile, "ROTATOR_MASTER_KEY_FILE="+keyFile)
		logf, err := os.OpenFile(filepath.Join(dir, fmt.Sprint("worker", i, ".log")), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		defer logf.Close()
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	began := time.Now()
	procs := make([]*exec.Cmd, workers)
	for i := range procs {
		procs[i] = start(i)
	}
	defer func() {
		for _, p := range procs {
			p.Process.Signal(syscall.SIGTERM)
			p.Wait()
		}
	}()
	kills := 0
	deadline := time.Now().Add(3 * time.Minute)
	if d := os.Getenv("ROTATOR_FAILOVER_DEADLINE"); d != "" {
		dd, _ := time.ParseDuration(d)
		deadline = time.Now().Add(dd)
	}
	for !site.allAtCap(2) {
		if time.Now().After(deadline) {
			checkFailover(t, dbURL, key, site) // the safety properties, still
			t.Fatalf("after %d kills, %d of %d accounts are at their cap; behind:\n%s", kills, site.atCap(2), accounts, behind(t, dbURL, key, site, dir))
		}
		time.Sleep(time.Duration(500+rand.IntN(2500)) * time.Millisecond)
		if kills >= maxKills {
			continue
		}
		// A worker in the middle of a run: wait a little for one.
		i := rand.IntN(workers)
		pid := site.busyPID()
		for wait := time.Now().Add(3 * time.Second); pid == 0 && time.Now().Before(wait); pid = site.busyPID() {
			time.Sleep(5 * time.Millisecond)
		}
		if pid != 0 {
			for j, p := range procs {
				if p.Process.Pid == pid {
					i = j
				}
			}
		}
		site.mu.Lock()
		site.dead[procs[i].Process.Pid] = true
		site.mu.Unlock()
		procs[i].Process.Signal(syscall.SIGKILL)
		procs[i].Wait()
		procs[i] = start(i)
		kills++
	}
	// Kills that met a session open: a worker died in the middle of a
	// run, whose account another worker then had to recover.
	interrupted := site.interrupted()
	took := time.Since(began)
	t.Logf("%d accounts, %d workers: all at their cap after %d kills, which cut %d runs short; %d changes in %v: %.0f a minute",
		accounts, workers, kills, interrupted, 2*accounts, took.Round(time.Second), float64(2*accounts)/took.Minutes())
	if interrupted == 0 && !noKills {
		t.Error("no kill met a run in progress: the test proves nothing about recovery")
	}
	// The last changes are made on the site before the vault records them
	// (verified by signing in again): let the runs in flight end, and the
	// workers stop, before comparing.
	for quiet, deadline := 0, time.Now().Add(30*time.Second); quiet < 3 && time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if site.busyPID() == 0 {
			quiet++
		} else {
			quiet = 0
		}
	}
	for _, p := range procs {
		p.Process.Signal(syscall.SIGTERM)
		p.Wait()
	}
	checkFailover(t, dbURL, key, site)
}

// behind describes the accounts not at their cap: their state and last
// run, from the vault.
func behind(t *testing.T, dbURL string, key secret.MasterKey, site *manySite, dir string) string {
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL, key)
	if err != nil {
		return err.Error()
	}
	defer st.Close()
	site.mu.Lock()
	defer site.mu.Unlock()
	var b strings.Builder
	for name, a := range site.accounts {
		if len(a.changes) >= 2 {
			continue
		}
		acct, _ := st.Account(ctx, name)
		fmt.Fprintf(&b, "%s: %d changes, state %s %q\n", name, len(a.changes), acct.State, acct.FlagReason)
		runs, _ := st.Runs(ctx, name, 30)
		for _, r := range runs {
			fmt.Fprintf(&b, "  run %d %s %s %s %s-%s: %s\n", r.ID, r.Kind, r.Outcome, r.Owner,
				r.StartedAt.Format("15:04:05.000"), r.FinishedAt.Format("15:04:05.000"), r.Reason)
		}
		for _, c := range a.changes {
			fmt.Fprintf(&b, "  site change at %s\n", c.Format("15:04:05.000"))
		}
		fmt.Fprintf(&b, "  now %s\n", time.Now().Format("15:04:05.000"))
		if conn, err := pgx.Connect(ctx, dbURL); err == nil {
			rows, _ := conn.Query(ctx, `SELECT id, state, attempt, coalesce(attempted_by, '{}'), scheduled_at FROM river_job WHERE args->>'account' = $1 ORDER BY id`, name)
			for rows.Next() {
				var id int64
				var state string
				var attempt int
				var by []string
				var at time.Time
				rows.Scan(&id, &state, &attempt, &by, &at)
				fmt.Fprintf(&b, "  job %d %s attempt %d by %v scheduled %s\n", id, state, attempt, by, at.Format("15:04:05.000"))
			}
			rows.Close()
			conn.Close(ctx)
		}
		es, _ := st.ScheduleEntries(ctx)
		for _, e := range es {
			if e.Name == name {
				fmt.Fprintf(&b, "  next due %v, failures %d, hold %q\n", e.NextDue, e.Failures, e.Hold)
			}
		}
		logs, _ := filepath.Glob(filepath.Join(dir, "worker*.log"))
		for _, f := range logs {
			data, _ := os.ReadFile(f)
			for _, line := range strings.Split(string(data), "\n") {
				if strings.Contains(line, name) {
					fmt.Fprintf(&b, "  %s: %s\n", filepath.Base(f), line)
				}
			}
		}
	}
	return b.String()
}

// seedFailover makes the vault with n accounts, all due, and their site.
func seedFailover(t *testing.T, dbURL string, key secret.MasterKey, site *manySite, n int) {
	ctx := context.Background()
	st, err := store.Create(ctx, dbURL, key)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var accts []store.NewAccount
	for i := range n {
		name, pw := fmt.Sprintf("acct%04d", i), fmt.Sprintf("Initial-pass-%04d", i)
		accts = append(accts, store.NewAccount{Account: store.Account{Name: name, Template: "demo-social",
			Username: name, SiteURL: "http://fake-site.invalid/"}, Password: secret.New(pw)})
		site.accounts[name] = &siteAccount{password: pw, sessions: map[int]int{}}
	}
	if err := st.ImportAccounts(ctx, accts); err != nil {
		t.Fatal(err)
	}
}

func (s *manySite) atCap(limit int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.accounts {
		if len(a.changes) >= limit {
			n++
		}
	}
	return n
}

// busyPID is a live worker with a session open, or 0.
func (s *manySite) busyPID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.accounts {
		for _, pid := range a.sessions {
			if !s.dead[pid] {
				return pid
			}
		}
	}
	return 0
}

// interrupted counts the sessions left open by killed workers.
func (s *manySite) interrupted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, a := range s.accounts {
		for _, pid := range a.sessions {
			if s.dead[pid] {
				n++
			}
		}
	}
	return n
}

func (s *manySite) allAtCap(limit int) bool { return s.atCap(limit) == len(s.accounts) }

// checkFailover: no overlap, no account over its cap, and the vault's
// password is the site's for every account.
func checkFailover(t *testing.T, dbURL string, key secret.MasterKey, site *manySite) {
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL, key)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	site.mu.Lock()
	defer site.mu.Unlock()
	if len(site.overlaps) > 0 {
		t.Errorf("%d overlaps, the first: %s", len(site.overlaps), site.overlaps[0])
	}
	for name, a := range site.accounts {
		if len(a.changes) > 2 {
			t.Errorf("%s changed %d times within the test, cap 2", name, len(a.changes))
		}
		pw, err := st.Password(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		if pw.Reveal() != a.password {
			t.Errorf("%s: the vault's password does not sign in on the site", name)
		}
	}
}
