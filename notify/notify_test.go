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

// One attempt per Deliver: a refusal is an error (the queue retries it),
// and the payload is the event's JSON.
func TestWebhookDeliverAndPayload(t *testing.T) {
	var (
		mu     sync.Mutex
		bodies [][]byte
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		bodies = append(bodies, b)
		if len(bodies) < 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", r.Header.Get("Content-Type"))
		}
	}))
	defer srv.Close()
	w := &Webhook{URL: srv.URL}
	body, err := Body(Event{Event: "rotation.paused", Account: "alice", Template: "demo-social", Outcome: "paused", RunID: 7,
		At: time.Unix(1_800_000_000, 0).UTC(), Challenge: &Challenge{Kind: "captcha", URL: "https://x/captcha"}})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := w.Deliver(ctx, body); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("a refused delivery: %v", err)
	}
	if err := w.Deliver(ctx, body); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 2 {
		t.Fatalf("%d deliveries, want 2", len(bodies))
	}
	var got map[string]any
	if err := json.Unmarshal(bodies[1], &got); err != nil {
		t.Fatal(err)
	}
	if got["event"] != "rotation.paused" || got["account"] != "alice" || got["run_id"] != 7.0 ||
		got["challenge"].(map[string]any)["kind"] != "captcha" || got["at"] != "2027-01-15T08:00:00Z" {
		t.Errorf("payload %s", bodies[1])
	}
	var nilHook *Webhook
	if nilHook.Enabled() || (&Webhook{}).Enabled() {
		t.Error("a webhook without a URL is enabled")
	}
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
		w := &Webhook{URL: raw, Logger: slog.New(slog.NewTextHandler(&logs, nil))}
		body, _ := Body(Event{Event: "rotation.failed", Account: "alice"})
		err := w.Deliver(context.Background(), body)
		if err == nil {
			t.Fatalf("%s: delivered", base)
		}
		out := logs.String() + "\n" + err.Error()
		if strings.Contains(out, "s3cret") || strings.Contains(out, "hookuser") {
			t.Errorf("%s: a URL secret in the log or the error:\n%s", base, out)
		}
		if !strings.Contains(logs.String(), base+"/...") {
			t.Errorf("%s: the log does not name the endpoint (scheme://host):\n%s", base, logs.String())
		}
	}
}
