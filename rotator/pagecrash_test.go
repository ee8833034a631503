package rotator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// A flow whose page crashes ends at once, not at its step's deadline (a
// crashed page answers no call), and the session says it is lost.
func TestFlowEndsWhenItsPageCrashes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	ctx := ctxFor(t)
	acct, err := e.store.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	tpl, diags := templates.Parse("waits.yaml", []byte(`name: waits
base_url: http://127.0.0.1:1/
timeouts: {step: 60s, run: 2m}
flows:
  login:
    - goto: /login
    - wait_for: {visible: "#never-there"}
  change: [{goto: /}]
  logout: [{goto: /}]
`))
	if tpl == nil {
		t.Fatal(diags.Err())
	}
	sess, err := BrowserOpener{Chromium: testChromium}.Open(ctx, acct, tpl, Hooks{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	page := sess.(pageOf).Page()
	go func() {
		time.Sleep(time.Second)
		proto.PageCrash{}.Call(page.Context(context.Background()))
	}()
	start := time.Now()
	err = sess.Run(ctx, templates.FlowLogin, browser.Values{Username: "alice", Password: secret.New("x")})
	took := time.Since(start)
	t.Logf("run ended after %v: %v", took, err)
	lost := sess.(interface{ Lost() string }).Lost()
	if err == nil || took > 10*time.Second || !strings.Contains(lost, "crashed") {
		t.Fatalf("after %v: %v; lost %q", took, err, lost)
	}
}
