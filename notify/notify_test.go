package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestWebhookRetriesAndPayload(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, b)
		if len(bodies) < 3 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Wait: 10 * time.Millisecond}
	w.Send(Event{Event: "rotation.paused", Account: "alice", Template: "demo-social", Outcome: "paused", RunID: 7,
		At: time.Unix(1_800_000_000, 0).UTC(), Challenge: &Challenge{Kind: "captcha", URL: "https://x/captcha"}})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	w.Close(ctx)
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 3 {
		t.Fatalf("%d deliveries, want 3 (two refused)", len(bodies))
	}
	var got map[string]any
	if err := json.Unmarshal(bodies[2], &got); err != nil {
		t.Fatal(err)
	}
	if got["event"] != "rotation.paused" || got["account"] != "alice" || got["run_id"] != 7.0 ||
		got["challenge"].(map[string]any)["kind"] != "captcha" || got["at"] != "2027-01-15T08:00:00Z" {
		t.Errorf("payload %s", bodies[2])
	}
}

func TestWebhookGivesUp(t *testing.T) {
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n++
		http.Error(w, "no", http.StatusInternalServerError)
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL, Attempts: 3, Wait: time.Millisecond}
	if err := w.deliver(Event{Event: "rotation.failed"}); err == nil || n != 3 {
		t.Errorf("%v after %d attempts", err, n)
	}
	var nilHook *Webhook
	nilHook.Send(Event{}) // no URL configured: nothing happens
}

// A failed webhook never logs the URL's path, query string or userinfo
// (where services put their token: Slack and Discord in the path), not
// even through net/http's *url.Error, which quotes the full URL.
func TestWebhookLogsNoURLSecrets(t *testing.T) {
	refused := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	addr := refused.Listener.Addr().String()
	refused.Close() // nothing listens: every POST fails inside net/http
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer failing.Close()
	for _, base := range []string{"http://" + addr, failing.URL} {
		var logs bytes.Buffer
		raw := strings.Replace(base, "http://", "http://hookuser:hookpass-s3cret@", 1) + "/hooks/path-s3cret?token=tok-s3cret&x=1#frag-s3cret"
		w := &Webhook{URL: raw, Attempts: 2, Wait: time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		err := w.deliver(Event{Event: "rotation.failed", Account: "alice"})
		if err == nil {
			t.Fatalf("%s: delivered", base)
		}
		w.Send(Event{Event: "rotation.failed", Account: "alice"})
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		w.Close(ctx)
		cancel()
		out := logs.String() + "\n" + err.Error()
		if strings.Contains(out, "s3cret") || strings.Contains(out, "hookuser") {
			t.Errorf("%s: a URL secret in the log or the error:\n%s", base, out)
		}
		if !strings.Contains(logs.String(), base+"/...") {
			t.Errorf("%s: the log does not name the endpoint (scheme://host):\n%s", base, logs.String())
		}
	}
}
