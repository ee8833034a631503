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
			if killed > 0 { // -0 would be this process's own group
				syscall.Kill(-killed, syscall.SIGKILL)
			}
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

// A browser that dies in two runs in a row fails the second: a site that
// brings it down at every run, or a Chromium that cannot stay up, backs
// the account off and reaches an operator instead of being tried again
// every few seconds.
func TestChromiumDyingAtEveryRunFails(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	ctx := ctxFor(t)
	ch := browser.NewChromium(browser.Options{})
	defer ch.Close()
	e.rot.Opener = BrowserOpener{Chromium: ch, State: e.store}
	e.rot.OnStep = func(_ string, rep browser.StepReport) {
		// PID is 0 once the browser is dead: -0 would be this process's
		// own group.
		if pid := ch.PID(); pid > 0 && rep.Flow == templates.FlowLogin && rep.Step.Kind == templates.StepFill {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	var outcomes []rotation.Outcome
	for range 2 {
		res, err := e.rot.Rotate(ctx, "alice")
		if err != nil {
			t.Fatal(err)
		}
		outcomes = append(outcomes, res.Outcome)
	}
	if outcomes[0] != rotation.Deferred || outcomes[1] != rotation.Failed {
		t.Fatalf("two runs whose browser died: %v", outcomes)
	}
	if e.current("alice") != e.sitePassword("alice") {
		t.Error("the vault's password is not the site's")
	}
}
