package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
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
