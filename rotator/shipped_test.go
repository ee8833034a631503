package rotator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/internal/demoacct"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// newSkinEnv is newEnv on the demo site passing for a real site (a
// skin: demosite's layouts facebook, twitter, linkedin).
func newSkinEnv(t *testing.T, skin string) *env {
	t.Helper()
	site := demosite.New(demosite.Options{ChangesPerDay: 10})
	if err := site.SetLayout(skin); err != nil {
		t.Fatal(err)
	}
	return newEnvWith(t, t.TempDir(), site)
}

// addOn creates the user on the site and its account in the vault, on
// template tpl.
func (e *env) addOn(tpl string, u demosite.UserSpec) {
	e.t.Helper()
	if err := e.site.AddUser(u); err != nil {
		e.t.Fatal(err)
	}
	a := store.NewAccount{Account: store.Account{Name: u.Name, Template: tpl, Username: u.Name, SiteURL: e.srv.URL + "/",
		TOTP: demoacct.TOTP(e.t, u)}, Password: secret.New(u.Password)}
	if err := e.store.AddAccount(context.Background(), a); err != nil {
		e.t.Fatal(err)
	}
}

// TestShippedTemplatesRotate is the conformance test of the templates
// rotator ships for real sites: each rotates a password-only account and a
// TOTP account on the demo site's skin of its site, which has the markup,
// URLs and behaviours of the pages senhasegura's template for that site
// was written for. A rotation must be clean, not merely end well: it
// succeeds, with no recovery and no step failed (a change flow that fails
// is still proven by signing in, and a logout that fails is tried past),
// the flows run are login, change, logout, login and no other, the TOTP
// accounts' codes are typed by the template's own branch (no challenge
// rule takes the page first), the site's password is the vault's, and no
// step comes near its deadline (a success check that waits on a form the
// site keeps, or a click on a button a page lacks, waits it out).
func TestShippedTemplatesRotate(t *testing.T) {
	t.Parallel()
	for _, site := range []string{"facebook", "twitter", "linkedin"} {
		for _, factor := range []string{"password", "totp"} {
			t.Run(site+"/"+factor, func(t *testing.T) {
				t.Parallel()
				e := newSkinEnv(t, site)
				u := demosite.UserSpec{Name: site + "-" + factor, Password: "Initial-pass-1234"}
				if factor == "totp" {
					u.TOTPSecret, u.TOTPPeriod = demoSecret, demoacct.ShortPeriod
				}
				e.addOn(site, u)
				var steps []browser.StepReport
				e.rot.OnStep = func(_ string, rep browser.StepReport) { steps = append(steps, rep) }
				start := time.Now()
				res, err := e.rot.Rotate(ctxFor(t), u.Name)
				t.Logf("rotation took %v", time.Since(start).Round(time.Millisecond))
				if err != nil || res.Outcome != rotation.Succeeded {
					t.Fatalf("rotate: %s %s %v", res.Outcome, res.Reason, err)
				}
				if res.Recovered.Ran() {
					t.Errorf("recovery ran: %s", res.Recovered)
				}
				if cur := e.current(u.Name); cur == u.Password || e.sitePassword(u.Name) != cur {
					t.Error("the site's password is not the vault's new one")
				}
				checkCleanRun(t, site, steps, factor == "totp")
			})
		}
	}
}

// checkCleanRun checks the steps of a rotation on template name: none
// failed, none took half its deadline or more, the flows were login,
// change, logout, login, and the TOTP steps ran once per sign-in when
// totp is set, never otherwise. Half the deadline is far from both ends: a
// step that waits a deadline out takes all of it (15 to 30 s in these
// templates), and the slowest step that waits for nothing wrong, a TOTP
// code waiting for a fresh time step, takes at most demoacct.ShortPeriod
// (4 s); the others take under a second.
func checkCleanRun(t *testing.T, name string, steps []browser.StepReport, totp bool) {
	t.Helper()
	tpl, diags := templates.Find(name, "")
	if tpl == nil {
		t.Fatal(diags.Err())
	}
	var flows []string
	var log strings.Builder
	codes := 0
	defer func() { t.Logf("steps:\n%s", log.String()) }()
	for _, rep := range steps {
		if len(flows) == 0 || flows[len(flows)-1] != rep.Flow {
			flows = append(flows, rep.Flow)
		}
		if rep.Step.Kind == templates.StepTOTP {
			codes++
		}
		limit := tpl.Timeouts.Step
		if rep.Step.Timeout != 0 {
			limit = rep.Step.Timeout
		}
		fmt.Fprintf(&log, "%-6s %-8s %-8s %6v  %s\n", rep.Flow, rep.Path, rep.Step.Kind, rep.Duration.Round(time.Millisecond), rep.Matched)
		if rep.Err != nil {
			t.Errorf("%s step %s (%s) failed: %v", rep.Flow, rep.Path, rep.Step.Describe(), rep.Err)
		}
		if rep.Duration >= limit/2 {
			t.Errorf("%s step %s (%s) took %v of its %v deadline: it waited for something the page does not do",
				rep.Flow, rep.Path, rep.Step.Describe(), rep.Duration.Round(time.Millisecond), limit)
		}
	}
	want := []string{templates.FlowLogin, templates.FlowChange, templates.FlowLogout, templates.FlowLogin}
	if !slices.Equal(flows, want) {
		t.Errorf("flows run %v, want %v", flows, want)
	}
	wantCodes := 0
	if totp {
		wantCodes = 2 // one per sign-in
	}
	if codes != wantCodes {
		t.Errorf("%d TOTP codes typed, want %d", codes, wantCodes)
	}
}

// Facebook asks for its CAPTCHA on the same /checkpoint/ page as for a
// second factor or a location check: the rotation pauses for a CAPTCHA,
// named as one, not for a verification.
func TestShippedFacebookCaptchaIsACaptcha(t *testing.T) {
	t.Parallel()
	e := newSkinEnv(t, "facebook")
	e.addOn("facebook", demosite.UserSpec{Name: "facebook-captcha", Password: "Initial-pass-1234", Captcha: true})
	res, err := e.rot.Rotate(ctxFor(t), "facebook-captcha")
	if err != nil || res.Outcome != rotation.Paused || res.Challenge == nil {
		t.Fatalf("rotate: %s %s %v", res.Outcome, res.Reason, err)
	}
	if c := res.Challenge; c.Kind != templates.ChallengeCaptcha || c.Name != "facebook-captcha" {
		t.Errorf("paused for %s (%s), want the captcha facebook-captcha", c.Kind, c.Name)
	}
}

// A rotation after a run that left the browser signed in (its state, kept
// in the vault for the site's trust cookies, holds the session) signs out
// first: facebook's sign-in page sends a signed-in browser to its home,
// which hid the form the login flow fills, and the run spent failed
// sign-ins and ended in recovery.
func TestSavedSessionDoesNotHideTheSignInForm(t *testing.T) {
	t.Parallel()
	e := newSkinEnv(t, "facebook")
	u := demosite.UserSpec{Name: "kept", Password: "Initial-pass-1234"}
	e.addOn("facebook", u)
	if res, err := e.rot.Verify(ctxFor(t), u.Name); err != nil || res.Outcome != rotation.Succeeded {
		t.Fatalf("verify: %s %s %v", res.Outcome, res.Reason, err)
	}
	var steps []browser.StepReport
	e.rot.OnStep = func(_ string, rep browser.StepReport) { steps = append(steps, rep) }
	res, err := e.rot.Rotate(ctxFor(t), u.Name)
	if err != nil || res.Outcome != rotation.Succeeded || res.Recovered.Ran() {
		t.Fatalf("rotate after a signed-in run: %s %s %v", res.Outcome, res.Reason, err)
	}
	checkCleanRun(t, "facebook", steps, false)
}
