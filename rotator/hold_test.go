package rotator

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/internal/demoacct"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/store"
)

// waitHeld waits for the account's browser to be held.
func waitHeld(t *testing.T, hs *Holds, name string) *Held {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := hs.Wait(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// solveCaptcha plays the person: tick the box and type the word the
// picture shows, on the held page itself.
func solveCaptcha(t *testing.T, e *env, h *Held, name string) {
	t.Helper()
	words := e.site.CaptchaWords(name)
	if len(words) != 1 {
		t.Fatalf("CAPTCHA words in progress for %s: %v", name, words)
	}
	p := h.Page().Timeout(20 * time.Second)
	if err := rod.Try(func() {
		p.MustElement("#human").MustClick()
		p.MustElement("#captcha-word").MustInput(words[0])
		p.MustElement("#captcha-submit").MustClick()
		// The CAPTCHA page re-renders at the same URL when wrong: wait
		// for the page after it.
		for strings.HasSuffix(p.MustInfo().URL, "/captcha") {
			time.Sleep(50 * time.Millisecond)
		}
		p.MustWaitLoad()
	}); err != nil {
		t.Fatal(err)
	}
}

func TestChallengeHeldResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "dora", Password: "Dora-pass-12345", TOTPSecret: demoSecret, TOTPPeriod: demoacct.ShortPeriod, Captcha: true})
	e.rot.Holds = &Holds{Keep: time.Minute}
	paused := make(chan string, 4)
	e.rot.Events = pauseEvents(paused)
	ctx := ctxFor(t)
	done := make(chan Result, 1)
	go func() {
		res, err := e.rot.Rotate(ctx, "dora")
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// The sign-in meets the CAPTCHA; later the verification sign-in meets
	// it again. Each time a person solves it on the held page.
	for i := 0; i < 2; i++ {
		h := waitHeld(t, e.rot.Holds, "dora")
		<-paused
		acct, _ := e.store.Account(ctx, "dora")
		if acct.State != store.StatePaused {
			t.Fatalf("state while held: %s", acct.State)
		}
		if i == 0 {
			// "Resolved" while the CAPTCHA still shows is refused and
			// the page stays held.
			if err := h.Continue(ctx, "operator:test"); !errors.Is(err, ErrStillChallenged) {
				t.Fatalf("continue on an unsolved CAPTCHA: %v", err)
			}
		}
		solveCaptcha(t, e, h, "dora")
		if err := h.Continue(ctx, "operator:test"); err != nil {
			t.Fatal(err)
		}
		<-h.Done()
	}
	res := <-done
	if res.Outcome != rotation.Succeeded || len(paused) != 0 {
		t.Fatalf("outcome %s (%d pauses told beyond the two held): %s", res.Outcome, len(paused), res.Reason)
	}
	if got, want := e.sitePassword("dora"), e.current("dora"); got != want || got == "Dora-pass-12345" {
		t.Fatal("the vault's password is not the site's new one")
	}
	acct, _ := e.store.Account(ctx, "dora")
	if acct.State != store.StateActive {
		t.Fatalf("state after: %s", acct.State)
	}
	log, _ := e.store.AuditLog(ctx, "dora")
	var resolved, refused int
	for _, ev := range log {
		if ev.Action == "challenge.resolve" && ev.Actor == "operator:test" {
			switch ev.Outcome {
			case "resumed":
				resolved++
			case "refused":
				refused++
			}
		}
	}
	if resolved != 2 || refused != 1 {
		t.Fatalf("audit: %d resolved, %d refused", resolved, refused)
	}
}

func TestChallengeHeldAbortAndExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "erin", Password: "Erin-pass-12345", Captcha: true})
	e.rot.Holds = &Holds{Keep: time.Minute}
	ctx := ctxFor(t)
	done := make(chan Result, 1)
	go func() { res, _ := e.rot.Rotate(ctx, "erin"); done <- res }()
	h := waitHeld(t, e.rot.Holds, "erin")
	if err := h.Abort(ctx, "operator:test"); err != nil {
		t.Fatal(err)
	}
	res := <-done
	if res.Outcome != rotation.Paused {
		t.Fatalf("aborted: %s", res.Outcome)
	}
	acct, _ := e.store.Account(ctx, "erin")
	if acct.State != store.StatePaused {
		t.Fatalf("an aborted account must stay flagged, is %s", acct.State)
	}
	if _, ok := e.rot.Holds.Get("erin"); ok {
		t.Fatal("still held after abort")
	}
	if err := h.Continue(ctx, "x"); !errors.Is(err, ErrNotHeld) {
		t.Fatalf("continue after abort: %v", err)
	}

	// Expiry: nobody answers.
	if err := e.store.Flag(ctx, "erin", store.StateActive, ""); err != nil {
		t.Fatal(err)
	}
	e.rot.Holds.Keep = 2 * time.Second
	start := time.Now()
	res, err := e.rot.Rotate(ctx, "erin")
	if err != nil || res.Outcome != rotation.Paused {
		t.Fatalf("%v %s", err, res.Outcome)
	}
	if el := time.Since(start); el < 2*time.Second {
		t.Fatalf("the browser was not kept (%v)", el)
	}
	if e.sitePassword("erin") != "Erin-pass-12345" || e.current("erin") != "Erin-pass-12345" {
		t.Fatal("password changed")
	}
}

// pauseEvents sends the reason of every pause told to it.
type pauseEvents chan string

func (p pauseEvents) Paused(x Pause)  { p <- x.Reason }
func (pauseEvents) Finished(Finished) {}
