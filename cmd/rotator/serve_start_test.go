package main

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/daemon"
	"github.com/rotator-pam/rotator/jobs"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// newServeVault makes a data folder with a vault, as `rotator init` does,
// and returns the app and the configuration to start a server on it.
func newServeVault(t *testing.T) (*app, config.Config, *store.Store) {
	t.Helper()
	dir := t.TempDir()
	a := &app{stdin: nil, stdout: io.Discard, stderr: io.Discard, getenv: func(string) string { return "" }, now: time.Now, dataFlag: dir}
	cfg, err := a.config()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Serve.Addr = "127.0.0.1:0"
	cfg.Serve.ShutdownTimeout = 5 * time.Second
	key, err := secret.CreateKeyFile(cfg.MasterKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	s, _, err := a.createVault(context.Background(), cfg, key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return a, cfg, s
}

// startTestServer starts what `serve` runs, stopped at the end of the test.
func startTestServer(t *testing.T, a *app, cfg config.Config, s *store.Store) *daemon.Server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sv, err := startServer(ctx, a, s, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sv.Stop() })
	return sv
}

// The Host check (DNS rebinding) holds for every path of the listener,
// /metrics and /healthz included, not only the console's pages.
func TestServeHostCheckOnEveryPath(t *testing.T) {
	t.Parallel()
	a, cfg, s := newServeVault(t)
	sv := startTestServer(t, a, cfg, s)
	for _, path := range []string{"metrics", "healthz", "login", "api/accounts"} {
		for _, host := range []string{"evil.example", "evil.example:8787", "127.0.0.1.evil.example"} {
			req, _ := http.NewRequest("GET", sv.URL+path, nil)
			req.Host = host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusMisdirectedRequest {
				t.Errorf("GET /%s with Host %s: %s, want 421", path, host, resp.Status)
			}
		}
	}
	for _, path := range []string{"metrics", "healthz"} {
		resp, err := http.Get(sv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("GET /%s on the console's own address: %s", path, resp.Status)
		}
	}
}

// After serve is killed mid-rotation its River job stays "running", and
// unique jobs would skip the account until River's rescuer runs
// (RescueStuckJobsAfter, over 15 minutes). A new serve holds the data
// folder's lock, so such a job is from a dead process: it is picked up
// again at once. A second serve on the same folder is refused.
func TestServeReleasesJobsOfAKilledServe(t *testing.T) {
	t.Parallel()
	a, cfg, s := newServeVault(t)
	ctx := context.Background()
	q, err := jobs.Open(cfg.VaultPath(), jobs.Handlers{Rotate: func(context.Context, jobs.Job) error { return nil }}, jobs.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if added, err := q.Enqueue(ctx, "ghost", time.Time{}); err != nil || !added {
		t.Fatalf("enqueue: %v %v", added, err)
	}
	if err := q.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", cfg.VaultPath())
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// What a worker that fetched the job and was then SIGKILLed leaves.
	var id int64
	if err := db.QueryRow(`UPDATE river_job SET state = 'running', attempt = 1, attempted_at = datetime('now', 'subsec')
RETURNING id`).Scan(&id); err != nil {
		t.Fatal(err)
	}

	sv := startTestServer(t, a, cfg, s)

	var (
		state   string
		attempt int
	)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if err := db.QueryRow(`SELECT state, attempt FROM river_job WHERE id = ?`, id).Scan(&state, &attempt); err != nil {
			t.Fatal(err)
		}
		if state != "running" && attempt >= 2 {
			break
		}
	}
	if state == "running" || attempt < 2 {
		t.Fatalf("the killed serve's job was not picked up again: state %s, attempt %d", state, attempt)
	}

	// One serve per data folder.
	_, err = startServer(ctx, a, s, cfg, slog.New(slog.DiscardHandler), nil)
	if !errors.Is(err, daemon.ErrServing) || !strings.Contains(err.Error(), cfg.DataDir) {
		t.Fatalf("a second serve on the same data folder: %v", err)
	}
	_ = sv
}
