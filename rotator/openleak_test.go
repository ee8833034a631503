package rotator

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// badState hands back a saved browser state that does not parse.
type badState struct{}

func (badState) Cookies(context.Context, string) ([]byte, error)  { return []byte("{not json"), nil }
func (badState) SetCookies(context.Context, string, []byte) error { return nil }

// A session whose saved state cannot be loaded fails to open and leaves
// nothing running: the crash watch it had started ends with it.
func TestOpenThatFailsLeavesNoGoroutine(t *testing.T) {
	needChromium(t)
	tpl, diags := templates.Parse("t.yaml", []byte(`name: t
base_url: http://127.0.0.1:1/
flows:
  login: [{goto: /}]
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`))
	if tpl == nil {
		t.Fatal(diags.Err())
	}
	ctx := ctxFor(t)
	o := BrowserOpener{Chromium: testChromium, State: badState{}}
	acct := store.Account{Name: "bad", SiteURL: "http://127.0.0.1:1/"}
	open := func() {
		if _, err := o.Open(ctx, acct, tpl, Hooks{}); err == nil || !strings.Contains(err.Error(), "load the browser state") {
			t.Fatalf("got %v, want the state refused", err)
		}
	}
	open()
	time.Sleep(200 * time.Millisecond)
	before := runtime.NumGoroutine()
	const n = 5
	for range n {
		open()
	}
	var after int
	for range 20 {
		time.Sleep(100 * time.Millisecond)
		if after = runtime.NumGoroutine(); after <= before {
			return
		}
	}
	t.Errorf("%d goroutines before %d failed opens, %d after", before, n, after)
}
