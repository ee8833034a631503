package console

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/input"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/internal/pgtest"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// testChromium is the browser the package's tests share, as a worker's
// rotations do: each session in a browser context of its own.
var testChromium = browser.NewChromium(browser.Options{})

func TestMain(m *testing.M) {
	code := pgtest.Main(m)
	testChromium.Close()
	os.Exit(code)
}

// worker is another `rotator serve` on e's vault: its own store (so its
// own lease holder), rotator, console and listener, advertised in the
// vault.
type worker struct {
	store *store.Store
	rot   *rotator.Rotator
	con   *Server
	srv   *httptest.Server
}

func (e *env) worker() *worker {
	t := e.t
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	st, err := store.Open(ctx, e.vault, e.key)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	logger := slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	rot := &rotator.Rotator{Store: st, Opener: rotator.BrowserOpener{Chromium: testChromium, State: st}, Templates: e.rot.Templates,
		Actor: "scheduler", Logger: logger, Holds: &rotator.Holds{Keep: 3 * time.Minute}}
	w := &worker{store: st, rot: rot, con: &Server{Store: st, Rotator: rot, Logger: logger, Context: ctx}}
	h, err := w.con.Handler()
	if err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(h)
	t.Cleanup(w.srv.Close)
	if err := st.Advertise(ctx, w.srv.URL); err != nil {
		t.Fatal(err)
	}
	return w
}

// get sends a GET to base with the session cookie c and returns the status
// and body.
func get(t *testing.T, base, path string, c *http.Cookie) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", base+path, nil)
	req.AddCookie(c)
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// An operator signed in on one worker is signed in on every worker, and
// signing out on another ends it everywhere.
func TestSignInHoldsOnEveryWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	a := e.worker()
	c := e.signIn()
	if code, body := get(t, a.srv.URL, "/api/flags", c); code != http.StatusOK {
		t.Fatalf("the other worker with the sign-in's cookie: %d %s", code, body)
	}
	req, _ := http.NewRequest("POST", a.srv.URL+"/logout", nil)
	req.AddCookie(c)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if code, _ := get(t, e.srv.URL, "/api/flags", c); code != http.StatusUnauthorized {
		t.Fatalf("signed out on one worker, still signed in on the first: %d", code)
	}
}

// A request between workers passes only signed with the vault's key, for
// the worker it reaches, once, and lately.
func TestPeerRequestsNeedTheVaultsKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	a := e.worker()
	b, err := e.store.HolderID()
	if err != nil {
		t.Fatal(err)
	}
	const path = "/peer/flags/nobody/abort"
	send := func(req *http.Request) int {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	signed := func(con *Server, method, path, to string) *http.Request {
		t.Helper()
		req, _ := http.NewRequest(method, e.srv.URL+path, nil)
		if err := con.signPeer(req, to, "operator:olga@127.0.0.1"); err != nil {
			t.Fatal(err)
		}
		return req
	}
	// Through the signature, the worker answers: it holds no such page.
	good := signed(a.con, "POST", path, b)
	if code := send(good); code != http.StatusConflict {
		t.Fatalf("a signed request: %d, want 409 (no page held)", code)
	}
	again, _ := http.NewRequest("POST", e.srv.URL+path, nil)
	again.Header = good.Header.Clone()
	other, err := store.Create(context.Background(), filepath.Join(t.TempDir(), "other.db"), secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	moved := signed(a.con, "POST", "/peer/flags/nobody/resolve", b)
	moved.URL.Path = path
	old := signed(a.con, "POST", path, b)
	old.Header.Set(hdrPeerTime, strconv.FormatInt(time.Now().Add(-2*time.Minute).Unix(), 10))
	for name, req := range map[string]*http.Request{
		"unsigned":                func() *http.Request { r, _ := http.NewRequest("POST", e.srv.URL+path, nil); return r }(),
		"replayed":                again,
		"for another worker":      signed(a.con, "POST", path, "pg0123456789abcdef"),
		"another vault's key":     signed(&Server{Store: other}, "POST", path, b),
		"signed for another path": moved,
		"two minutes old":         old,
		"a live view, not for us": signed(a.con, "GET", "/peer/live/nobody", "someone-else"),
		"an operator name changed": func() *http.Request {
			r := signed(a.con, "POST", path, b)
			r.Header.Set(hdrPeerOperator, "root")
			return r
		}(),
	} {
		if code := send(req); code != http.StatusUnauthorized {
			t.Errorf("%s: %d, want 401", name, code)
		}
	}
}

// A page held by a worker that stopped is lost: every console says so,
// offers a session instead of the live view, and clearing the flag
// forgets it. While its worker lives, the page cannot be cleared away.
func TestLostPageOfADeadWorker(t *testing.T) {
	t.Parallel()
	e := newEnv(t, false)
	e.add(demosite.UserSpec{Name: "carl", Password: "Carl-pass-12345"})
	ctx := context.Background()
	w := e.worker()
	holder, _ := w.store.HolderID()
	now := time.Now()
	if err := w.store.RecordHeld(ctx, store.HeldPage{Account: "carl", Kind: string(rotator.HeldChallenge), RunID: 1,
		Since: now, Until: now.Add(time.Hour), Challenge: "captcha"}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.Flag(ctx, "carl", store.StatePaused, "a captcha"); err != nil {
		t.Fatal(err)
	}
	flag := func() Flag {
		t.Helper()
		code, body := e.api("GET", "/api/flags")
		var fs []Flag
		if code != 200 || json.Unmarshal(body, &fs) != nil || len(fs) != 1 {
			t.Fatalf("flags: %d %s", code, body)
		}
		return fs[0]
	}
	if f := flag(); f.Held == nil || f.Held.Worker != holder || f.Lost != "" {
		t.Fatalf("held by a live worker: %+v", f)
	}
	if code, body := e.api("POST", "/api/flags/carl/clear"); code != http.StatusConflict {
		t.Fatalf("clearing a page another worker holds: %d %s", code, body)
	}
	w.store.Close() // the worker dies: its holder is free
	if f := flag(); f.Held != nil || !strings.Contains(f.Lost, "lost") || !strings.Contains(f.Lost, holder) {
		t.Fatalf("held by a dead worker: %+v", f)
	}
	if code, body := e.api("GET", "/api/live/carl"); code != http.StatusGone {
		t.Fatalf("live view of a lost page: %d %s", code, body)
	}
	if code, body := e.api("POST", "/api/flags/carl/clear"); code != http.StatusOK {
		t.Fatalf("clear: %d %s", code, body)
	}
	if ps, err := e.store.HeldPages(ctx); err != nil || len(ps) != 0 {
		t.Fatalf("held pages after the clear: %v %+v", err, ps)
	}
}

// The operator's story across workers, on PostgreSQL: worker B's rotation
// meets the demo CAPTCHA and holds its page; the operator, signed in to
// worker A, opens the flag there, solves the CAPTCHA in the live view that
// A relays from B, and presses "Resolved, continue"; B's rotation
// completes. Then a page lost with a dead worker is replaced by a session
// opened from A.
func TestOperatorOnOneWorkerResolvesACaptchaHeldByAnother(t *testing.T) {
	t.Parallel()
	needBrowser(t)
	e := newEnvAt(t, false, pgtest.URL(t)) // worker B
	a := e.worker()
	e.add(demosite.UserSpec{Name: "dora", Password: "Dora-pass-12345", Captcha: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := rotate(e, ctx, "dora")
	op := e.operatorAt(ctx, a.srv.URL)
	bHolder, _ := e.store.HolderID()
	for round := 0; round < 2; round++ { // the sign-in, then the verifying one
		h := waitHeld(t, e.rot.Holds, "dora")
		if _, ok := a.rot.Holds.Get("dora"); ok {
			t.Fatal("worker A holds the page too")
		}
		if round == 0 {
			op.do(func(p *rod.Page) {
				p.MustNavigate(a.srv.URL + "/flags").MustWaitLoad()
				if txt := p.MustElement(`article[data-account="dora"]`).MustText(); !strings.Contains(txt, "by worker "+bHolder) {
					t.Errorf("worker A's flag does not say which worker holds the page: %q", txt)
				}
			})
		}
		op.openLive("dora")
		words := e.site.CaptchaWords("dora")
		if len(words) != 1 {
			t.Fatalf("CAPTCHAs in progress: %v", words)
		}
		op.clickOn(h, "#human")
		op.clickOn(h, "#captcha-word")
		op.do(func(p *rod.Page) { p.Keyboard.MustType([]input.Key(words[0])...) })
		deadline := time.Now().Add(10 * time.Second)
		for h.Page().MustElement("#captcha-word").MustProperty("value").Str() != words[0] && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		op.clickOn(h, "#captcha-submit")
		waitLeft(t, h, "/captcha")
		if msg := op.press("resolve"); !strings.Contains(msg, "resumed") {
			t.Fatalf("resolve from worker A: %q", msg)
		}
		<-h.Done()
	}
	res := e.rotatedTo(ctx, done, "dora", "Dora-pass-12345")
	// B audited the operator's actions, as relayed by A.
	aHolder, _ := a.store.HolderID()
	events, err := e.store.AuditLog(ctx, "dora")
	if err != nil {
		t.Fatal(err)
	}
	relayed := 0
	for _, ev := range events {
		if (ev.Action == "challenge.resolve" || ev.Action == "live.open") && strings.Contains(ev.Actor, "olga") && strings.Contains(ev.Actor, "via worker "+aHolder) {
			relayed++
		}
	}
	if relayed < 4 {
		t.Errorf("%d relayed actions audited under the operator's name, want 4 (2 live views, 2 resolves)", relayed)
	}

	// A worker dies holding a page: A says it is lost, and a session
	// opened from A takes its place.
	c := e.worker()
	if err := c.store.RecordHeld(ctx, store.HeldPage{Account: "dora", Kind: string(rotator.HeldChallenge), RunID: res.RunID,
		Since: time.Now(), Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	e.store.Flag(ctx, "dora", store.StatePaused, "a captcha")
	cHolder, _ := c.store.HolderID()
	c.store.Close()
	// The server ends the holder's session a moment after its connection
	// closes.
	for deadline := time.Now().Add(10 * time.Second); !e.store.HolderDead(cHolder); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the closed worker's holder is still alive")
		}
	}
	op.do(func(p *rod.Page) {
		p.MustNavigate(a.srv.URL + "/flags").MustWaitLoad()
		art := p.MustElement(`article[data-account="dora"]`)
		if txt := art.MustText(); !strings.Contains(txt, "was lost") {
			t.Errorf("a page lost with its worker: %q", txt)
		}
		art.MustElement(`form[action$="/session"] button`).MustClick()
		p.MustWaitElementsMoreThan("#live[data-frames]", 0)
	})
	if _, ok := a.rot.Holds.Get("dora"); !ok {
		t.Fatal("the session is not held by worker A")
	}
	if msg := op.press("resolve"); !strings.Contains(msg, "session closed") {
		t.Fatalf("close the session: %q", msg)
	}
}
