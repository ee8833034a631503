package browser

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/proto"
)

// Downloads are denied: a page (or a template's goto) that answers with an
// attachment, or a link with a download attribute, leaves no file anywhere
// in the browser's profile or home.
func TestDownloadsDenied(t *testing.T) {
	t.Parallel()
	needChromium(t)
	const canary = "download-canary-5e0a"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/file":
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", `attachment; filename="master.key"`)
			fmt.Fprint(w, canary)
		default:
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, `<!doctype html><a id="dl" href="/file" download="x.key">get</a>`)
		}
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Launch(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := b.NewPage(ctx, PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p = p.Context(ctx)
	// Each download ends with a progress event: canceled when denied,
	// completed once its file is written.
	ended := make(chan proto.PageDownloadProgressState, 2)
	go p.EachEvent(func(e *proto.PageDownloadProgress) {
		if e.State != proto.PageDownloadProgressStateInProgress {
			select {
			case ended <- e.State:
			default:
			}
		}
	})()
	_ = p.Navigate(srv.URL + "/file")
	if err := p.Navigate(srv.URL + "/"); err != nil {
		t.Fatal(err)
	}
	if err := p.WaitLoad(); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Eval(`() => document.getElementById("dl").click()`); err != nil {
		t.Fatal(err)
	}
	for _, how := range []string{"a goto", "a download link"} {
		select {
		case state := <-ended:
			if state != proto.PageDownloadProgressStateCanceled {
				t.Errorf("the download by %s ended %s, not canceled", how, state)
			}
		case <-ctx.Done():
			t.Fatalf("the download by %s did not end: %v", how, ctx.Err())
		}
	}
	// Chromium streams a response it may download into a temporary file
	// (TMPDIR: the profile) until the download is refused, then deletes
	// it: what must not be left is a file.
	found := grepDir(t, b.inst.tempDir, canary)
	for i := 0; found != "" && i < 50; i++ {
		time.Sleep(100 * time.Millisecond)
		found = grepDir(t, b.inst.tempDir, canary)
	}
	if found != "" {
		t.Errorf("a download was written to %s and kept", found)
	}
}
