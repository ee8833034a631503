package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/templates"
)

// The site's /.well-known/change-password is looked up by the browser, as
// every other request of the run: through the account's proxy, with the
// browser's name resolution. The site here is a name only the proxy knows.
func TestChangePasswordPageThroughTheBrowser(t *testing.T) {
	t.Parallel()
	needChromium(t)
	site := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/change-password":
			http.Redirect(w, r, "/settings/security/password", http.StatusFound)
		case "/settings/security/password":
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<!doctype html><h1 id="change">Change your password</h1>`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer site.Close()
	target, _ := url.Parse(site.URL)
	var proxied atomic.Int32
	proxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) {
		proxied.Add(1)
		r.SetURL(target)
		r.Out.Host = r.In.Host
	}})
	defer proxy.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	b, err := Launch(ctx, Options{Proxy: proxy.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	page, err := b.NewPage(ctx, PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	tpl := parseTemplate(t, `name: t
base_url: http://accounts.site.invalid/
flows:
  login: [{goto: change-password-page}, {expect: {visible: "#change"}}]
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	r := &Runner{Template: tpl, Page: page, ArtifactDir: t.TempDir()}
	if err := r.RunFlow(ctx, templates.FlowLogin); err != nil {
		t.Fatalf("the change-password page was not reached: %v", err)
	}
	if info := page.MustInfo(); !strings.HasSuffix(info.URL, "/settings/security/password") {
		t.Errorf("the page is at %s", info.URL)
	}
	if proxied.Load() == 0 {
		t.Error("nothing went through the account's proxy")
	}
}
