package console

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/internal/demoacct"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// syncBuffer collects log output from many goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type env struct {
	t       testing.TB
	dir     string
	site    *demosite.Site
	siteSrv *httptest.Server
	store   *store.Store
	rot     *rotator.Rotator
	con     *Server
	srv     *httptest.Server
	token   string
	logs    *syncBuffer
	key     secret.MasterKey
	vault   string // the vault's file or URL
}

func newEnv(t testing.TB, secure bool) *env { return newEnvAt(t, secure, "") }

// newEnvAt is newEnv with the vault at vault (a PostgreSQL URL; "": a file
// in the test's folder).
func newEnvAt(t testing.TB, secure bool, vault string) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, dir: dir, logs: &syncBuffer{}, key: secret.NewMasterKey(), vault: vault}
	if e.vault == "" {
		e.vault = filepath.Join(dir, "vault.db")
	}
	e.site = demosite.New(demosite.Options{ChangesPerDay: 10})
	e.siteSrv = httptest.NewServer(e.site.Handler())
	t.Cleanup(e.siteSrv.Close)
	st, err := store.Create(context.Background(), e.vault, e.key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e.store = st
	var hash []byte
	e.token, hash = NewToken()
	if err := st.SetConsoleToken(context.Background(), hash, "test"); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e.rot = &rotator.Rotator{
		Store:  st,
		Opener: rotator.BrowserOpener{Chromium: testChromium, State: st},
		Templates: func(name string) (*templates.Template, error) {
			tpl, diags := templates.Find(name, "")
			if tpl == nil {
				return nil, diags.Err()
			}
			return tpl, nil
		},
		Actor:       "scheduler",
		Logger:      logger,
		ArtifactDir: func(a string) string { return filepath.Join(dir, "artifacts", a) },
		Holds:       &rotator.Holds{Keep: 3 * time.Minute},
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	e.con = &Server{Store: st, Rotator: e.rot, Logger: logger, Context: ctx, Secure: secure}
	h, err := e.con.Handler()
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewUnstartedServer(h)
	e.srv.Config.ErrorLog = slog.NewLogLogger(logger.Handler(), slog.LevelWarn)
	if secure {
		e.srv.StartTLS()
	} else {
		e.srv.Start()
	}
	t.Cleanup(e.srv.Close)
	if err := st.Advertise(context.Background(), e.srv.URL); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) add(u demosite.UserSpec) {
	e.t.Helper()
	demoacct.Add(e.t, e.site, e.store, e.siteSrv.URL+"/", u)
}

// request sends a request to the console with optional headers.
func (e *env) request(method, path string, body string, headers map[string]string) *http.Response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range headers {
		if k == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	c := e.srv.Client()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// signIn returns a session cookie.
func (e *env) signIn() *http.Cookie {
	e.t.Helper()
	resp := e.request("POST", "/login", "token="+e.token+"&name=tester", nil)
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign in: %s", resp.Status)
	}
	for _, c := range resp.Cookies() {
		if c.Name == sessionCookie {
			return c
		}
	}
	e.t.Fatal("no session cookie")
	return nil
}

// checkNoToken fails if the token shows up in the logs or the audit log.
func (e *env) checkNoToken() {
	e.t.Helper()
	if strings.Contains(e.logs.String(), e.token) {
		e.t.Error("the access token appears in the log")
	}
	events, err := e.store.AuditLog(context.Background(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	for _, ev := range events {
		if strings.Contains(fmt.Sprint(ev), e.token) {
			e.t.Errorf("the access token appears in the audit log: %v", ev.Action)
		}
	}
}

// needBrowser skips a test that drives Chromium when there is none, saying
// why; on CI, where Chromium is installed, it fails instead. The security
// tests need no browser and never ask.
func needBrowser(t testing.TB) {
	t.Helper()
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs Chromium: %v", err)
		}
		t.Skipf("needs Chromium: %v", err)
	}
}
