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
	"time"

	"github.com/rotator-pam/rotator/internal/weburl"
	"github.com/rotator-pam/rotator/rotation"
)

// Event is the JSON body of a webhook POST.
type Event struct {
	// Event is "rotation.paused", "rotation.failed" or "account.needs_operator".
	Event    string           `json:"event"`
	Account  string           `json:"account"`
	Template string           `json:"template,omitempty"`
	Outcome  rotation.Outcome `json:"outcome"`
	Reason   string           `json:"reason,omitempty"`
	RunID    int64            `json:"run_id,omitempty"`
	At       time.Time        `json:"at"`
	// Challenge is set for paused rotations.
	Challenge *Challenge `json:"challenge,omitempty"`
}

// Challenge describes what paused a rotation.
type Challenge struct {
	Kind string `json:"kind"`
	URL  string `json:"url"`
}

// Webhook posts events to a URL. A delivery is one attempt; the daemon
// queues deliveries as durable jobs (package jobs), which retry a failed
// one with a doubling wait and keep it across a restart.
type Webhook struct {
	URL    string
	Client *http.Client
	Logger *slog.Logger
}

// Enabled reports whether a URL is configured.
func (w *Webhook) Enabled() bool { return w != nil && w.URL != "" }

// Body is the JSON body that delivers e.
func Body(e Event) ([]byte, error) { return json.Marshal(e) }

// Deliver posts body once. A failure is logged, naming the endpoint as
// scheme://host only, and returned for the queue to retry.
func (w *Webhook) Deliver(ctx context.Context, body []byte) error {
	err := w.post(ctx, body)
	if err != nil && w.Logger != nil {
		var e struct {
			Event   string `json:"event"`
			Account string `json:"account"`
		}
		_ = json.Unmarshal(body, &e)
		w.Logger.Error("webhook", "event", e.Event, "account", e.Account, "url", Redact(w.URL), "err", err)
	}
	return err
}

func (w *Webhook) post(ctx context.Context, body []byte) error {
	client := w.Client
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(body))
	if err != nil {
		return redactURLError(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return redactURLError(err)
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 300 {
		return fmt.Errorf("status %s", resp.Status)
	}
	return nil
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
