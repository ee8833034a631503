package browser

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// sessionPage opens a session of c and a page in it at url.
func sessionPage(t *testing.T, ctx context.Context, c *Chromium, so SessionOptions, url string) (*Browser, *rod.Page) {
	t.Helper()
	b, err := c.NewSession(ctx, so)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	p, err := b.NewPage(ctx, PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p = p.Context(ctx)
	if url != "" {
		if err := p.Navigate(url); err != nil {
			t.Fatal(err)
		}
		if err := p.WaitLoad(); err != nil {
			t.Fatal(err)
		}
	}
	return b, p
}

// stateSite sets a cookie and an item of local storage on /set and shows
// what it finds of them on every page.
func stateSite(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "who", Value: r.URL.Query().Get("v"), Path: "/"})
		}
		c, _ := r.Cookie("who")
		v := "none"
		if c != nil {
			v = c.Value
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><p id="c">%s</p><p id="s"></p><script>
if (location.pathname == "/set") localStorage.setItem("who", new URLSearchParams(location.search).get("v"));
document.getElementById("s").textContent = localStorage.getItem("who") || "none";
</script>`, v)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func text(t *testing.T, p *rod.Page, sel string) string {
	t.Helper()
	el, err := p.Element(sel)
	if err != nil {
		t.Fatal(err)
	}
	s, err := el.Text()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Sessions of one Chromium run in one browser process, each in a context
// of its own: neither sees the other's cookies or site storage, and a
// closed session's context is gone from the browser.
func TestSessionsShareOneChromiumNotTheirState(t *testing.T) {
	t.Parallel()
	needChromium(t)
	srv := stateSite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := NewChromium(Options{})
	defer c.Close()
	a, pa := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/set?v=alice")
	b, pb := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
	if a.PID() != b.PID() || a.PID() != c.PID() {
		t.Fatalf("sessions run in browsers %d and %d", a.PID(), b.PID())
	}
	if got := text(t, pb, "#c") + " " + text(t, pb, "#s"); got != "none none" {
		t.Errorf("the other session sees cookie and storage %q", got)
	}
	if err := pa.Navigate(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	pa.WaitLoad()
	if got := text(t, pa, "#c") + " " + text(t, pa, "#s"); got != "alice alice" {
		t.Errorf("the session lost its own cookie and storage: %q", got)
	}
	id := a.Rod().BrowserContextID
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := proto.TargetGetBrowserContexts{}.Call(b.root.Context(ctx))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.BrowserContextIDs {
		if c == id {
			t.Errorf("the closed session's context %s is still in the browser", id)
		}
	}
	if got := text(t, pb, "#c"); got != "none" {
		t.Errorf("the other session changed: %q", got)
	}
}

// A page whose renderer crashes ends its own session only.
func TestCrashedPageEndsOnlyItsSession(t *testing.T) {
	t.Parallel()
	needChromium(t)
	srv := stateSite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := NewChromium(Options{})
	defer c.Close()
	_, pa := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/set?v=alice")
	_, pb := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/set?v=bob")
	crashed := make(chan struct{})
	go pa.EachEvent(func(*proto.InspectorTargetCrashed) bool { close(crashed); return true })()
	go proto.PageCrash{}.Call(pa)
	select {
	case <-crashed:
	case <-ctx.Done():
		t.Fatal("the page did not crash")
	}
	if err := pb.Navigate(srv.URL + "/"); err != nil {
		t.Fatalf("the other session's page after the crash: %v", err)
	}
	pb.WaitLoad()
	if got := text(t, pb, "#c"); got != "bob" {
		t.Errorf("the other session's page shows %q", got)
	}
	// A new session works too.
	_, pc := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
	if got := text(t, pc, "#c"); got != "none" {
		t.Errorf("a new session's page shows %q", got)
	}
}

// A Chromium that dies ends its sessions (Died), and the next session
// starts a new one; the dead one's profile is removed.
func TestDeadChromiumIsRestarted(t *testing.T) {
	t.Parallel()
	needChromium(t)
	srv := stateSite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := NewChromium(Options{})
	defer c.Close()
	a, pa := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
	pid, dir := a.PID(), a.inst.tempDir
	// Chromium's temporary files are in its profile, not left in /tmp.
	defer func() {
		if left, _ := filepath.Glob("/tmp/org.chromium.Chromium.*"); len(left) > 0 {
			t.Errorf("Chromium left %d temporary folders in /tmp (%s)", len(left), left[0])
		}
	}()
	syscall.Kill(-pid, syscall.SIGKILL)
	for !a.Died() {
		if ctx.Err() != nil {
			t.Fatal("the session did not see its browser die")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := pa.Navigate(srv.URL + "/"); err == nil {
		t.Error("a page of the dead browser still navigates")
	}
	b, pb := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/set?v=bob")
	if b.PID() == pid || text(t, pb, "#s") != "bob" {
		t.Errorf("new session in browser %d (dead: %d)", b.PID(), pid)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the dead browser's profile %s is still there", dir)
	}
	if err := a.Close(); err != nil {
		t.Errorf("closing a session of the dead browser: %v", err)
	}
}

// Each session goes through its own proxy.
func TestProxyPerSession(t *testing.T) {
	t.Parallel()
	needChromium(t)
	var mu sync.Mutex
	seen := map[string][]string{}
	proxy := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			seen[name] = append(seen[name], r.Host)
			mu.Unlock()
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprintf(w, `<!doctype html><title>%s</title>`, name)
		}))
		t.Cleanup(srv.Close)
		return srv
	}
	one, two := proxy("one"), proxy("two")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := NewChromium(Options{})
	defer c.Close()
	_, p1 := sessionPage(t, ctx, c, SessionOptions{Proxy: one.URL}, "http://site-one.example/")
	_, p2 := sessionPage(t, ctx, c, SessionOptions{Proxy: two.URL}, "http://site-two.example/")
	i1, _ := p1.Info()
	i2, _ := p2.Info()
	mu.Lock()
	defer mu.Unlock()
	only := func(hosts []string, host string) bool {
		return len(hosts) > 0 && !slices.ContainsFunc(hosts, func(h string) bool { return h != host })
	}
	if i1.Title != "one" || i2.Title != "two" || !only(seen["one"], "site-one.example") || !only(seen["two"], "site-two.example") {
		t.Errorf("titles %q %q; proxies saw %v", i1.Title, i2.Title, seen)
	}
	if _, err := c.NewSession(ctx, SessionOptions{Proxy: "http://user:secret@proxy.example:3128"}); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("a proxy with credentials: %v", err)
	}
}

// A Chromium with no session for its idle time stops; the next session
// starts it again.
func TestIdleChromiumStops(t *testing.T) {
	t.Parallel()
	needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := NewChromium(Options{IdleTimeout: 300 * time.Millisecond})
	defer c.Close()
	a, _ := sessionPage(t, ctx, c, SessionOptions{}, "")
	pid := a.PID()
	a.Close()
	for c.PID() != 0 {
		if ctx.Err() != nil {
			t.Fatal("an idle browser kept running")
		}
		time.Sleep(20 * time.Millisecond)
	}
	for {
		if _, _, ok := procStat(pid); !ok {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("process %d of the stopped browser is still there", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	b, _ := sessionPage(t, ctx, c, SessionOptions{}, "")
	if b.PID() == 0 || b.PID() == pid {
		t.Errorf("a new session after the idle stop runs in %d", b.PID())
	}
}

// Once reading from Chromium failed, sending fails too: rod fails the calls
// that wait when reading fails, and a call sent after it, into a pipe a
// dying browser still holds, would wait for good.
func TestPipeRefusesToSendAfterItBroke(t *testing.T) {
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer outR.Close()
	c := &pipeConn{w: outW, r: bufio.NewReader(inR), rc: inR}
	defer c.close()
	if err := c.Send([]byte(`{}`)); err != nil {
		t.Fatalf("send before: %v", err)
	}
	inW.Close()
	if _, err := c.Read(); err == nil {
		t.Fatal("read from a closed pipe")
	}
	if err := c.Send([]byte(`{}`)); !errors.Is(err, os.ErrClosed) || !gone(err) {
		t.Fatalf("send after the read failed: %v", err)
	}
}

// A session costs one renderer process: the browser makes no page of its
// own (omnibox popups) in a session's context, and keeps no spare.
func TestOneRendererPerSession(t *testing.T) {
	t.Parallel()
	needChromium(t)
	srv := stateSite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := NewChromium(Options{})
	defer c.Close()
	a, _ := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
	sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
	res, err := proto.SystemInfoGetProcessInfo{}.Call(a.root.Context(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var renderers int
	for _, p := range res.ProcessInfo {
		if p.Type == "renderer" {
			renderers++
		}
	}
	targets, err := proto.TargetGetTargets{}.Call(a.root.Context(ctx))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, ti := range targets.TargetInfos {
		kinds = append(kinds, string(ti.Type)+" "+ti.URL)
	}
	if renderers > 2 || len(kinds) != 2 {
		t.Errorf("two sessions: %d renderer processes; targets %q", renderers, kinds)
	}
}
