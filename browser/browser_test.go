package browser

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/proto"
)

// shared is the one browser of this test package; nil when there is no
// Chromium. Tests reach it through sharedBrowser.
var shared *Browser

func TestMain(m *testing.M) {
	// A helper child process (TestHelperLaunch) launches its own.
	if _, err := FindChromium(""); err == nil && os.Getenv("ROTATOR_HELPER_URL") == "" {
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
	os.Exit(m.Run())
}

// needChromium skips a test that drives Chromium when there is none, saying
// why; on CI, where Chromium is installed, it fails instead. Tests of
// code that needs no browser never ask.
func needChromium(t testing.TB) {
	t.Helper()
	if _, err := FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs Chromium: %v", err)
		}
		t.Skipf("needs Chromium: %v", err)
	}
}

// sharedBrowser returns the package's browser, or skips (see needChromium).
func sharedBrowser(t testing.TB) *Browser {
	t.Helper()
	needChromium(t)
	if shared == nil {
		t.Fatal("no shared browser")
	}
	return shared
}

func TestLoadsALoopbackPage(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>demo login</title><input id="username">`)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	incognito, err := sharedBrowser(t).Rod().Incognito()
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
	v, err := sharedBrowser(t).Version(ctx)
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
	t.Parallel()
	needChromium(t)
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

// An account's browser state (cookies and the site's local storage) goes
// from one browser to the next through SaveState and LoadState, and nothing
// of it stays on disk: that is what makes a site trust the browser after an
// operator said so, on any worker.
func TestStateCarriesCookiesAndStorage(t *testing.T) {
	t.Parallel()
	needChromium(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/set" {
			http.SetCookie(w, &http.Cookie{Name: "trusted", Value: "cookie-canary-7f3a", Path: "/", MaxAge: 3600, HttpOnly: true})
		}
		c, _ := r.Cookie("trusted")
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><p id="c">%v</p><p id="s"></p><script>
if (location.pathname == "/set") localStorage.setItem("device", "storage-canary-19bd");
document.getElementById("s").textContent = localStorage.getItem("device") || "none";
</script>`, c != nil)
	}))
	defer srv.Close()
	visit := func(path string, state []byte) (cookie, storage string, saved []byte) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		b, err := Launch(ctx, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer func() {
			dir := b.inst.tempDir
			if err := b.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("the browser's profile %s is still on disk after Close", dir)
			}
		}()
		p, err := b.NewPage(ctx, PageOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if err := b.LoadState(ctx, p, state); err != nil {
			t.Fatal(err)
		}
		p = p.Context(ctx)
		if err := p.Navigate(srv.URL + path); err != nil {
			t.Fatal(err)
		}
		p.WaitLoad()
		cookie = p.MustElement("#c").MustText()
		storage = p.MustElement("#s").MustText()
		// Nothing of the site is written into the profile while it runs.
		if found := grepDir(t, b.inst.tempDir, "cookie-canary-7f3a", "storage-canary-19bd"); found != "" {
			t.Errorf("the site's state is on disk in %s", found)
		}
		saved, err = b.SaveState(ctx, p, []string{srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		return cookie, storage, saved
	}
	_, _, st := visit("/set", nil)
	if got, _, _ := visit("/", nil); got != "false" {
		t.Fatalf("a browser without the saved state sent the cookie (%s)", got)
	}
	cookie, storage, _ := visit("/", st)
	if cookie != "true" {
		t.Errorf("a browser loaded with the saved state has no cookie")
	}
	if storage != "storage-canary-19bd" {
		t.Errorf("a browser loaded with the saved state has local storage %q", storage)
	}
}

// grepDir returns the first file under dir that holds one of the needles.
func grepDir(t *testing.T, dir string, needles ...string) string {
	t.Helper()
	found := ""
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				found = path
			}
		}
		return nil
	})
	return found
}
