package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/templates"
)

// reviewSite serves the pages of these tests by path.
var resHits atomic.Int32

func reviewSite(t *testing.T, pages map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/res" {
			resHits.Add(1)
			w.Header().Set("Cache-Control", "max-age=3600")
			fmt.Fprint(w, "res")
			return
		}
		if r.URL.Path == "/auth" {
			if _, _, ok := r.BasicAuth(); !ok {
				w.Header().Set("WWW-Authenticate", `Basic realm="r"`)
				w.WriteHeader(http.StatusUnauthorized)
				fmt.Fprint(w, "noauth")
				return
			}
			fmt.Fprint(w, "authed")
			return
		}
		if r.URL.Path == "/authcheck" {
			if _, _, ok := r.BasicAuth(); ok {
				fmt.Fprint(w, "sent")
			} else {
				fmt.Fprint(w, "none")
			}
			return
		}
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if strings.HasSuffix(r.URL.Path, ".js") {
			w.Header().Set("Content-Type", "text/javascript")
		} else {
			w.Header().Set("Content-Type", "text/html")
		}
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func evalStr(t *testing.T, p *rod.Page, js string) string {
	t.Helper()
	res, err := p.Evaluate(rod.Eval(js).ByPromise())
	if err != nil {
		t.Fatal(err)
	}
	return res.Value.String()
}

// Two sessions on the same origin at once: nothing one registers or
// posts (service worker, BroadcastChannel, SharedWorker, HTTP auth, HTTP
// cache, cache storage, IndexedDB) reaches the other, and its workers end
// with its context.
func TestContextsIsolateSameOrigin(t *testing.T) {
	t.Parallel()
	needChromium(t)
	srv := reviewSite(t, map[string]string{
		"/":       `<!doctype html><p>x</p>`,
		"/sw.js":  `self.addEventListener("fetch", e => { if (e.request.url.endsWith("/probe")) e.respondWith(new Response("from-sw")); });`,
		"/shw.js": `let n = 0; onconnect = e => { const p = e.ports[0]; n++; p.postMessage(String(n)); };`,
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := NewChromium(Options{})
	defer c.Close()
	a, pa := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
	_, pb := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")

	// A: service worker, cache storage, IndexedDB, HTTP auth, a
	// BroadcastChannel listener, a SharedWorker.
	for _, js := range []string{
		`async () => { await navigator.serviceWorker.register("/sw.js"); await navigator.serviceWorker.ready; return "sw" }`,
		`async () => { const c = await caches.open("k"); await c.put("/cached", new Response("a-cache")); return "cache" }`,
		`async () => { await new Promise(res => { const o = indexedDB.open("db", 1); o.onupgradeneeded = () => o.result.createObjectStore("s"); o.onsuccess = res; }); return "idb" }`,
		`async () => { const x = new XMLHttpRequest(); x.open("GET", "/auth", false, "u", "p"); x.send(); return x.responseText }`,
		`async () => { window.got = []; const bc = new BroadcastChannel("ch"); bc.onmessage = e => window.got.push(e.data); return "bc" }`,
		`async () => { const w = new SharedWorker("/shw.js"); return await new Promise(r => { w.port.onmessage = e => r(e.data); }); }`,
		`async () => { await fetch("/res"); await fetch("/res"); return "res" }`,
	} {
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := pa.Context(sctx).Evaluate(rod.Eval(js).ByPromise())
		scancel()
		if err != nil {
			t.Fatalf("A: %s: %v", js, err)
		}
		t.Logf("A: %s", res.Value.String())
	}
	if _, err := navigate(ctx, pa, srv.URL+"/"); err != nil {
		t.Fatal(err)
	}
	if got := evalStr(t, pa, `async () => (await (await fetch("/probe")).text()) + " " + (await (await fetch("/authcheck")).text())`); got != "from-sw sent" {
		t.Fatalf("the case tests nothing: A's own service worker answered %q", got)
	}

	var outs []string
	for _, js := range []string{
		`async () => "sw:" + (await navigator.serviceWorker.getRegistrations()).length`,
		`async () => "probe:" + (await fetch("/probe")).status`,
		`async () => "caches:" + (await caches.keys()).length`,
		`async () => "idb:" + (await indexedDB.databases()).length`,
		`async () => "auth:" + await (await fetch("/authcheck")).text()`,
		`async () => { await fetch("/res"); return "res" }`,
		`async () => { new BroadcastChannel("ch").postMessage("from-b"); return "bc" }`,
		`async () => { const w = new SharedWorker("/shw.js"); return "shw:" + await new Promise(r => { w.port.onmessage = e => r(e.data); }); }`,
	} {
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := pb.Context(sctx).Evaluate(rod.Eval(js).ByPromise())
		scancel()
		if err != nil {
			t.Fatalf("B: %s: %v", js, err)
		}
		outs = append(outs, res.Value.String())
	}
	got := strings.Join(outs, " ")
	if want := "sw:0 probe:404 caches:0 idb:0 auth:none res bc shw:1"; got != want {
		t.Errorf("B sees %q, want %q", got, want)
	}
	if n := resHits.Load(); n != 2 {
		t.Errorf("the server got %d requests for a cached resource, want one from each session", n)
	}
	time.Sleep(200 * time.Millisecond)
	// The SharedWorker A started was reloaded away; only count B's side.
	if got := evalStr(t, pa, `() => JSON.stringify(window.got || [])`); got != "[]" {
		t.Errorf("A's BroadcastChannel heard %s", got)
	}
	// A's workers end with its context.
	kinds := func() (n int, all []string) {
		res, err := proto.TargetGetTargets{}.Call(c.inst.root.Context(ctx))
		if err != nil {
			t.Fatal(err)
		}
		for _, ti := range res.TargetInfos {
			all = append(all, string(ti.Type))
			if ti.BrowserContextID == a.rod.BrowserContextID {
				n++
			}
		}
		return n, all
	}
	if n, all := kinds(); n < 2 {
		t.Logf("A's context has %d targets before Close (%v)", n, all)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if n, all := kinds(); n != 0 {
		t.Errorf("%d targets of A's context after Close: %v", n, all)
	}
}

// A popup a page opens (window.open, target=_blank, noopener) stays in the
// session's context, and is gone once the session closes.
func TestPopupsStayInTheContext(t *testing.T) {
	t.Parallel()
	needChromium(t)
	srv := reviewSite(t, map[string]string{"/": `<!doctype html><a id="a" href="/" target="_blank">x</a>`})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := NewChromium(Options{})
	defer c.Close()
	a, pa := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
	_, pb := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
	_ = pb
	for _, js := range []string{`() => { window.open("/", "w1") }`, `() => { window.open("/", "_blank", "noopener") }`, `() => document.getElementById("a").click()`} {
		if _, err := pa.Evaluate(rod.Eval(js).ByUser()); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	var pages []*proto.TargetTargetInfo
	for time.Now().Before(deadline) {
		res, err := proto.TargetGetTargets{}.Call(a.root.Context(ctx))
		if err != nil {
			t.Fatal(err)
		}
		pages = pages[:0]
		for _, ti := range res.TargetInfos {
			if ti.Type == "page" {
				pages = append(pages, ti)
			}
		}
		if len(pages) >= 5 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	inA := 0
	for _, ti := range pages {
		if ti.BrowserContextID == a.rod.BrowserContextID {
			inA++
		}
	}
	if len(pages) != 5 || inA != 4 {
		t.Fatalf("%d pages, %d in A's context", len(pages), inA)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	res, err := proto.TargetGetTargets{}.Call(c.inst.root.Context(ctx))
	if err != nil {
		t.Fatal(err)
	}
	for _, ti := range res.TargetInfos {
		if ti.BrowserContextID == a.rod.BrowserContextID {
			t.Errorf("after Close: %s %s of the closed context", ti.Type, ti.URL)
		}
	}
}

// A page that holds a JavaScript dialog open, asks before unload, or
// spins, when its session closes: the context is disposed of and the
// browser, shared with other sessions, keeps running (a failed dispose
// kills it).
func TestHeldPageDoesNotKillTheSharedBrowser(t *testing.T) {
	t.Parallel()
	needChromium(t)
	for _, tc := range []struct{ name, page string }{
		{"alert", `<!doctype html><button id="b" onclick="setTimeout(() => alert('hi'), 10)">b</button>`},
		{"busy loop", `<!doctype html><button id="b" onclick="setTimeout(() => { for (;;) {} }, 10)">b</button>`},
		{"unload busy", `<!doctype html><button id="b">b</button><script>addEventListener("pagehide", () => { for (;;) {} }); addEventListener("beforeunload", () => { for (;;) {} })</script>`},
		{"beforeunload", `<!doctype html><button id="b">b</button><script>addEventListener("beforeunload", e => { e.preventDefault(); e.returnValue = "x"; })</script>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := reviewSite(t, map[string]string{"/": tc.page})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			c := NewChromium(Options{})
			defer c.Close()
			a, pa := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
			_, pb := sessionPage(t, ctx, c, SessionOptions{}, srv.URL+"/")
			pid := c.PID()
			pa.MustElement("#b").MustClick() // a user activation
			time.Sleep(300 * time.Millisecond)
			start := time.Now()
			err := a.Close()
			t.Logf("Close took %v: %v", time.Since(start), err)
			if c.PID() != pid || a.Died() {
				t.Fatalf("closing the session killed the shared browser (pid %d, now %d): %v", pid, c.PID(), err)
			}
			if _, err := pb.Context(ctx).Eval(`() => 1`); err != nil {
				t.Errorf("the other session's page: %v", err)
			}
		})
	}
}

// A goto that only changes the URL's fragment (a single-page app's hash
// route), or opens the very URL the page is at, or a URL that answers 204
// or a download, goes on at once instead of waiting out its deadline.
func TestGotoThatLoadsNothingGoesOn(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, first, second string }{
		{"hash route", "/app#/login", "/app#/settings/password"},
		{"same hash", "/app#/x", "/app#/x"},
		{"same url", "/app", "/app"},
		{"204", "/app", "/nocontent"},
		{"download", "/app", "/download"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/nocontent":
					w.WriteHeader(http.StatusNoContent)
				case "/download":
					w.Header().Set("Content-Disposition", "attachment; filename=x.bin")
					w.Header().Set("Content-Type", "application/octet-stream")
					fmt.Fprint(w, "data")
				default:
					w.Header().Set("Content-Type", "text/html")
					fmt.Fprint(w, `<!doctype html><p id="r"></p><script>
const show = () => document.getElementById("r").textContent = "at " + location.hash;
addEventListener("hashchange", show); show();</script>`)
				}
			}))
			t.Cleanup(srv.Close)
			tpl := parseTemplate(t, fmt.Sprintf(`name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: %s
    - goto: %s
      timeout: 8s
    - wait_for: {text: "at"}
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`, tc.first, tc.second))
			r := exfilRunner(t, tpl, srv.URL)
			var took time.Duration
			var gerr error
			r.OnStep = func(rep StepReport) {
				if rep.Step.Kind == templates.StepGoto && rep.Path == "2" {
					took, gerr = rep.Duration, rep.Err
				}
			}
			err := r.RunFlow(ctxFor(t), templates.FlowLogin)
			t.Logf("second goto: %v, %v; flow: %v", took, gerr, err)
			if took > 2*time.Second {
				t.Errorf("the second goto took %v", took)
			}
		})
	}
}
