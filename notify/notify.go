// Package notify tells operators, through a webhook, when an account needs
// them: a rotation paused for a challenge, failed, or an account went to
// needs_operator. Payloads never hold a secret.
package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/rotator-pam/rotator/internal/weburl"
)

// Event is the JSON body of a webhook POST.
type Event struct {
	// Event is "rotation.paused", "rotation.failed" or "account.needs_operator".
	Event    string    `json:"event"`
	Account  string    `json:"account"`
	Template string    `json:"template,omitempty"`
	Outcome  string    `json:"outcome"`
	Reason   string    `json:"reason,omitempty"`
	RunID    int64     `json:"run_id,omitempty"`
	At       time.Time `json:"at"`
	// Challenge is set for paused rotations.
	Challenge *Challenge `json:"challenge,omitempty"`
}

// Challenge describes what paused a rotation.
type Challenge struct {
	Kind string `json:"kind"`
	URL  string `json:"url"`
}

// Webhook posts events to a URL, retrying with exponential backoff.
type Webhook struct {
	URL    string
	Client *http.Client
	Logger *slog.Logger
	// Attempts per event (default 5) and the first wait (default 1 s,
	// doubling).
	Attempts int
	Wait     time.Duration

	wg sync.WaitGroup
}

// Send delivers e in the background; Close waits for deliveries.
func (w *Webhook) Send(e Event) {
	if w == nil || w.URL == "" {
		return
	}
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if err := w.deliver(e); err != nil && w.Logger != nil {
			w.Logger.Error("webhook", "event", e.Event, "account", e.Account, "url", Redact(w.URL), "err", err)
		}
	}()
}

// Close waits until every event was delivered or given up, or ctx ends.
func (w *Webhook) Close(ctx context.Context) {
	if w == nil {
		return
	}
	done := make(chan struct{})
	go func() { w.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

func (w *Webhook) deliver(e Event) error {
	body, err := json.Marshal(e)
	if err != nil {
		return err
	}
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	attempts, wait := w.Attempts, w.Wait
	if attempts <= 0 {
		attempts = 5
	}
	if wait <= 0 {
		wait = time.Second
	}
	var last error
	for i := 0; i < attempts; i++ {
		if i > 0 {
			time.Sleep(wait)
			wait *= 2
		}
		resp, err := client.Post(w.URL, "application/json", bytes.NewReader(body))
		if err != nil {
			last = redactURLError(err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode >= 200 && resp.StatusCode < 300 {
			return nil
		}
		last = fmt.Errorf("status %s", resp.Status)
	}
	return fmt.Errorf("gave up after %d attempts: %w", attempts, last)
}

// Redact returns a webhook URL as scheme://host only: services put their
// token in the path (Slack, Discord), the query or the userinfo.
func Redact(raw string) string { return weburl.Shown(raw, true) }

// redactURLError strips the URL from net/http's errors: *url.Error prints
// the full URL (query string included) in its message.
func redactURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		c := *ue
		c.URL = Redact(ue.URL)
		var inner *url.Error
		if errors.As(ue.Err, &inner) {
			// A URL that does not parse: its parse error quotes it.
			c.Err = errors.New("invalid URL")
		}
		return &c
	}
	return err
}
