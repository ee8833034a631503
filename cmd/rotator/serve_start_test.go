package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/config"
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
func startTestServer(t *testing.T, a *app, cfg config.Config, s *store.Store) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sv, err := startServer(ctx, a, s, cfg, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sv.stop() })
	return sv
}

// The Host check (DNS rebinding) holds for every path of the listener,
// /metrics and /healthz included, not only the console's pages.
func TestServeHostCheckOnEveryPath(t *testing.T) {
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
