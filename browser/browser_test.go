package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/proto"
)

// shared is the one browser of this test package.
var shared *Browser

func TestMain(m *testing.M) {
	if _, err := FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "CI needs Chromium:", err)
			os.Exit(1)
		}
		fmt.Fprintln(os.Stderr, "skipping browser tests:", err)
		os.Exit(0)
	}
	b, err := Launch(context.Background(), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	shared = b
	code := m.Run()
	b.Close()
	os.Exit(code)
}

func TestLoadsALoopbackPage(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>demo login</title><input id="username">`)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	incognito, err := shared.Rod().Incognito()
	if err != nil {
		t.Fatal(err)
	}
	defer incognito.Close()
	page, err := incognito.Context(ctx).Page(proto.TargetCreateTarget{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if err := page.WaitLoad(); err != nil {
		t.Fatal(err)
	}
	info, err := page.Info()
	if err != nil {
		t.Fatal(err)
	}
	if info.Title != "demo login" {
		t.Errorf("title %q", info.Title)
	}
	if _, err := page.Element("#username"); err != nil {
		t.Errorf("element: %v", err)
	}
	v, err := shared.Version(ctx)
	if err != nil || v == "" {
		t.Errorf("version %q %v", v, err)
	}
}

func TestMissingBinary(t *testing.T) {
	if _, err := Launch(context.Background(), Options{Bin: "/nonexistent/chromium"}); err == nil {
		t.Error("launched a missing binary")
	}
}

// With a proxy, the browser's traffic goes through it; user agent and
// viewport are what the page options say, and the same on every page.
func TestProxyUserAgentViewport(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []string
	)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Host == "site.example" {
			seen = append(seen, r.Host+" "+r.Header.Get("User-Agent"))
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>via proxy</title>`)
	}))
	defer proxy.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Launch(ctx, Options{Proxy: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	page, err := b.NewPage(ctx, PageOptions{Width: 414, Height: 896})
	if err != nil {
		t.Fatal(err)
	}
	if err := page.Context(ctx).Navigate("http://site.example/"); err != nil {
		t.Fatal(err)
	}
	page.Context(ctx).WaitLoad()
	info, _ := page.Info()
	mu.Lock()
	defer mu.Unlock()
	if info.Title != "via proxy" || len(seen) == 0 || !strings.HasPrefix(seen[0], "site.example ") {
		t.Fatalf("title %q, proxy saw %v", info.Title, seen)
	}
	if strings.Contains(seen[0], "Headless") {
		t.Errorf("user agent says headless: %s", seen[0])
	}
	res, err := page.Eval(`() => [innerWidth, innerHeight, navigator.userAgent]`)
	if err != nil {
		t.Fatal(err)
	}
	arr := res.Value.Arr()
	if arr[0].Int() != 414 || arr[1].Int() != 896 || strings.Contains(arr[2].Str(), "Headless") {
		t.Errorf("viewport/ua %v", arr)
	}
}

// An account's profile keeps the site's cookies from one run to the next:
// that is what makes a site trust the browser after an operator said so.
func TestProfileKeepsCookies(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "trusted", Value: "yes", Path: "/", MaxAge: 3600})
		}
		c, _ := r.Cookie("trusted")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><p id="c">%v</p>`, c != nil)
	}))
	defer srv.Close()
	dir := t.TempDir() + "/profile"
	visit := func(path string) string {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := Launch(ctx, Options{UserDataDir: dir})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		p, err := b.NewPage(ctx, PageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		p = p.Context(ctx)
		if err := p.Navigate(srv.URL + path); err != nil {
			t.Fatal(err)
		}
		p.WaitLoad()
		el, err := p.Element("#c")
		if err != nil {
			t.Fatal(err)
		}
		return el.MustText()
	}
	visit("/set")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the profile is gone after Close: %v", err)
	}
	if got := visit("/"); got != "true" {
		t.Fatalf("a new browser on the profile has no cookie (%s)", got)
	}
}
