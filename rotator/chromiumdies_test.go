package rotator

import (
	"syscall"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// A Chromium that dies after the change form was sent ends the run
// deferred, concluding nothing of what no page could show; the account
// stays active with its new password pending, and the next run, in a new
// Chromium, finds that the site took it.
func TestChromiumDiesMidRotation(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	ctx := ctxFor(t)
	ch := browser.NewChromium(browser.Options{})
	defer ch.Close()
	e.rot.Opener = BrowserOpener{Chromium: ch, State: e.store}
	killed := 0
	e.rot.OnStep = func(_ string, rep browser.StepReport) {
		if rep.Flow == templates.FlowChange && rep.Step.Kind == templates.StepClick && killed == 0 {
			killed = ch.PID()
			syscall.Kill(-killed, syscall.SIGKILL)
		}
	}
	start := time.Now()
	res, err := e.rot.Rotate(ctx, "alice")
	t.Logf("first run %v: %s", time.Since(start), res.Reason)
	if err != nil {
		t.Fatal(err)
	}
	if killed == 0 || res.Outcome != rotation.Deferred {
		t.Fatalf("killed %d; result %+v", killed, res)
	}
	acct, err := e.store.Account(ctx, "alice")
	if err != nil {
		t.Fatal(err)
	}
	cands, _ := e.store.Candidates(ctx, "alice")
	if acct.State != store.StateActive || len(cands) != 1 || cands[0].Password.Reveal() != e.sitePassword("alice") {
		t.Fatalf("after the browser died: state %s, %d candidates; the site has the candidate: %v", acct.State, len(cands),
			len(cands) == 1 && cands[0].Password.Reveal() == e.sitePassword("alice"))
	}
	e.rot.OnStep = nil
	res, err = e.rot.Rotate(ctx, "alice")
	if err != nil || res.Outcome != rotation.Succeeded {
		t.Fatalf("the next run: %+v, %v", res, err)
	}
	if ch.PID() == killed || e.current("alice") != e.sitePassword("alice") {
		t.Errorf("browser %d (killed %d); the vault's password is the site's: %v", ch.PID(), killed, e.current("alice") == e.sitePassword("alice"))
	}
}
