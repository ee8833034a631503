package rotator

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
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

// needChromium skips a test that drives the real browser when there is
// none, saying why; on CI, where the browser is installed, it fails
// instead. Tests on a fake session never ask.
func needChromium(t testing.TB) {
	t.Helper()
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("CI needs Chromium: %v", err)
		}
		t.Skipf("needs Chromium: %v", err)
	}
}

const demoSecret = "JBSWY3DPEHPK3PXP"

type env struct {
	t     testing.TB
	site  *demosite.Site
	srv   *httptest.Server
	store *store.Store
	rot   *Rotator
	dir   string
	tpls  map[string]*templates.Template
}

func newEnv(t *testing.T) *env {
	return newEnvWith(t, t.TempDir(), demosite.New(demosite.Options{ChangesPerDay: 10}))
}

func newEnvWith(t testing.TB, dir string, site *demosite.Site) *env {
	t.Helper()
	return newEnvServing(t, dir, site, site.Handler())
}

// newEnvServing is newEnvWith with the site served through h.
func newEnvServing(t testing.TB, dir string, site *demosite.Site, h http.Handler) *env {
	t.Helper()
	needChromium(t)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	st, err := store.Create(context.Background(), filepath.Join(dir, "vault.db"), secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{t: t, site: site, srv: srv, store: st, dir: dir, tpls: map[string]*templates.Template{}}
	e.rot = &Rotator{
		Store:  st,
		Opener: BrowserOpener{Chromium: testChromium, State: st},
		Templates: func(name string) (*templates.Template, error) {
			if tpl, ok := e.tpls[name]; ok {
				return tpl, nil
			}
			tpl, diags := templates.Find(name, "")
			if tpl == nil {
				return nil, diags.Err()
			}
			return tpl, nil
		},
		Actor:       "test",
		ArtifactDir: func(a string) string { return filepath.Join(dir, "artifacts", a) },
		// No minimum gap: the tests about the cap rotate back to back;
		// TestMinGap sets one.
	}
	return e
}

// add creates the user on the site and the account in the vault.
func (e *env) add(u demosite.UserSpec) {
	e.t.Helper()
	demoacct.Add(e.t, e.site, e.store, e.srv.URL+"/", u)
}

// sitePassword is what the demo site's admin side says the password is.
func (e *env) sitePassword(name string) string {
	st, _ := e.site.User(name)
	return st.Password
}

func (e *env) current(name string) string {
	pw, err := e.store.Password(context.Background(), name)
	if err != nil {
		e.t.Fatal(err)
	}
	return pw.Reveal()
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func TestRotationSucceeds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		user demosite.UserSpec
	}{
		// A one-step sign-in with TOTP is TestShippedTemplatesRotate's
		// TOTP cases, on three templates.
		{"one step", demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"}},
		{"two step with TOTP", demosite.UserSpec{Name: "carol", Password: "Carol-pass-1234", TwoStep: true, TOTPSecret: demoSecret, TOTPPeriod: demoacct.ShortPeriod}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.add(tt.user)
			res, err := e.rot.Rotate(ctxFor(t), tt.user.Name)
			if err != nil || res.Outcome != rotation.Succeeded {
				t.Fatalf("rotate: %+v %v", res, err)
			}
			cur := e.current(tt.user.Name)
			if cur == tt.user.Password || e.sitePassword(tt.user.Name) != cur {
				t.Fatalf("site and vault disagree after rotation")
			}
			h, _ := e.store.History(context.Background(), tt.user.Name)
			if len(h) != 1 || h[0].Password.Reveal() != tt.user.Password || !h[0].ChangedOnSite {
				t.Errorf("history %+v", h)
			}
			if _, err := e.store.Pending(context.Background(), tt.user.Name); err == nil {
				t.Error("pending left after promotion")
			}
			runs, _ := e.store.Runs(context.Background(), tt.user.Name, 0)
			if len(runs) != 1 || runs[0].Outcome != "succeeded" || len(runs[0].Steps) < 10 {
				t.Errorf("run record %+v", runs)
			}
			if n, err := e.store.VerifyAudit(context.Background()); err != nil || n == 0 {
				t.Errorf("audit %d %v", n, err)
			}
		})
	}
}

// The cap is decided from stored history before anything is opened: a
// third rotation within 24 hours is refused, says when the next one is
// allowed, and never reaches the site (a fake one: the cap needs no
// browser; TestServe and the CLI's TestRotateCLI hold it end to end).
func TestRateLimit(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, nil)
	st := e.open()
	rot := e.rotator(st)
	ctx := ctxFor(t)
	for i := range 2 {
		if res, err := rot.Rotate(ctx, "alice"); err != nil || res.Outcome != rotation.Succeeded {
			t.Fatalf("rotation %d: %+v %v", i+1, res, err)
		}
	}
	before, _, _ := e.site.state()
	e.site.mu.Lock()
	logins := len(e.site.logins)
	e.site.mu.Unlock()
	res, err := rot.Rotate(ctx, "alice")
	if err != nil || res.Outcome != rotation.Refused || res.NextAllowed.IsZero() {
		t.Fatalf("third rotation: %+v %v", res, err)
	}
	changes, _ := st.Changes(ctx, "alice", time.Time{})
	if len(changes) != 2 {
		t.Fatalf("%d changes stored, want 2", len(changes))
	}
	if want := changes[0].Add(24 * time.Hour); !res.NextAllowed.Equal(want) {
		t.Errorf("next allowed %v, want %v", res.NextAllowed, want)
	}
	after, _, _ := e.site.state()
	e.site.mu.Lock()
	touched := len(e.site.logins) != logins
	e.site.mu.Unlock()
	if after != before || touched {
		t.Error("a refused rotation touched the site")
	}
	// A lower per-account limit applies at once; a higher one only with an override.
	if err := st.SetLimit(ctx, "alice", store.Limit{Max: 5}); err != nil {
		t.Fatal(err)
	}
	if res, _ := rot.Rotate(ctx, "alice"); res.Outcome != rotation.Refused {
		t.Errorf("a higher limit without override applied: %+v", res)
	}
}

// The site refuses weak passwords: the template's rejection is recognised
// and another candidate tried, up to the bound.
func TestRejectedPasswordsAreRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	tpl, diags := templates.Find("demo-social", "")
	if tpl == nil {
		t.Fatal(diags.Err())
	}
	weak := *tpl
	weak.Rules, _ = templates.ParsePasswordRules("minlength: 8; maxlength: 8; allowed: lower")
	e.tpls["demo-social"] = &weak
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	// Each refusal is proven by a failed sign-in with the refused
	// password; three candidates need a budget of four (each is submitted
	// only while its proof, it and current, fits).
	e.rot.MaxFailedSignIns = 4
	var events []string
	e.rot.OnEvent = func(_, msg string) { events = append(events, msg) }
	res, err := e.rot.Rotate(ctxFor(t), "alice")
	if err != nil || res.Outcome != rotation.Failed || !strings.Contains(res.Reason, "refused 3 new passwords") {
		t.Fatalf("%+v %v", res, err)
	}
	if e.sitePassword("alice") != "Alice-pass-1234" || e.current("alice") != "Alice-pass-1234" {
		t.Error("password changed")
	}
	if n := strings.Count(strings.Join(events, "\n"), "refused the new password"); n != 2 {
		t.Errorf("%d retries reported: %v", n, events)
	}
}

// The site accepts the change, then refuses every sign-in: the account goes
// to needs_operator, and the vault still holds the password the site has.
func TestSiteThatBreaksAfterChange(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	if err := e.site.BreakLoginAfterChange("alice", true); err != nil {
		t.Fatal(err)
	}
	ctx := ctxFor(t)
	res, err := e.rot.Rotate(ctx, "alice")
	if err != nil || res.Outcome != rotation.NeedsOperator {
		t.Fatalf("%+v %v", res, err)
	}
	site := e.sitePassword("alice")
	pending, err := e.store.Pending(ctx, "alice")
	if err != nil || (pending.Reveal() != site && e.current("alice") != site) {
		t.Fatalf("the vault lost the site's password (pending err %v)", err)
	}
	acct, _ := e.store.Account(ctx, "alice")
	if acct.State != store.StateNeedsOperator || acct.FlagReason == "" {
		t.Errorf("state %s %q", acct.State, acct.FlagReason)
	}
	// Nothing automatic touches it again.
	if res, _ := e.rot.Rotate(ctx, "alice"); res.Outcome != rotation.Refused || !strings.Contains(res.Reason, "needs an operator") {
		t.Errorf("second rotation: %+v", res)
	}
	flags, _ := e.store.Flags(ctx)
	if len(flags) != 1 || flags[0].Account != "alice" {
		t.Errorf("flags %+v", flags)
	}
}

// A CAPTCHA before the change pauses the rotation with nothing changed.
func TestChallengePauses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234", Captcha: true})
	ctx := ctxFor(t)
	res, err := e.rot.Rotate(ctx, "alice")
	if err != nil || res.Outcome != rotation.Paused || res.Challenge == nil || res.Challenge.Kind != templates.ChallengeCaptcha {
		t.Fatalf("%+v %v", res, err)
	}
	if _, err := e.store.Pending(ctx, "alice"); err == nil {
		t.Error("a pending password was stored before the change")
	}
	runs, _ := e.store.Runs(ctx, "alice", 1)
	if runs[0].Outcome != "paused" || runs[0].ChallengeKind != "captcha" || runs[0].Screenshot == "" {
		t.Errorf("run %+v", runs[0])
	}
	if _, err := os.Stat(runs[0].Screenshot); err != nil {
		t.Error(err)
	}
	acct, _ := e.store.Account(ctx, "alice")
	if acct.State != store.StatePaused {
		t.Errorf("state %s", acct.State)
	}
}

// An unfinished rotation (pending stored, change submitted, promotion lost)
// is recovered by the next verify.
func TestRecoveryPromotesALivePendingPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	ctx := ctxFor(t)
	// What a crash right after submitting leaves behind.
	if err := e.store.SetPending(ctx, "alice", secret.New("Pending-Pass-5678-abc")); err != nil {
		t.Fatal(err)
	}
	resp, err := httptestChange(e, "alice", "Alice-pass-1234", "Pending-Pass-5678-abc")
	if err != nil {
		t.Fatal(resp, err)
	}
	res, err := e.rot.Verify(ctx, "alice")
	if err != nil || res.Outcome != rotation.Succeeded || !strings.Contains(res.Recovered.String(), "pending password signs in") {
		t.Fatalf("%+v %v", res, err)
	}
	if e.current("alice") != "Pending-Pass-5678-abc" {
		t.Error("pending not promoted")
	}
	// And a pending password that was never set is kept as the next
	// candidate while current stays.
	if err := e.store.SetPending(ctx, "alice", secret.New("Never-Set-9999-xyz")); err != nil {
		t.Fatal(err)
	}
	res, _ = e.rot.Verify(ctx, "alice")
	if res.Outcome != rotation.Succeeded || !strings.Contains(res.Recovered.String(), "current password signs in") || e.current("alice") != "Pending-Pass-5678-abc" {
		t.Fatalf("%+v", res)
	}
	res, _ = e.rot.Rotate(ctx, "alice")
	if res.Outcome != rotation.Succeeded || e.current("alice") != "Never-Set-9999-xyz" || e.sitePassword("alice") != "Never-Set-9999-xyz" {
		t.Fatalf("the retry did not reuse the pending candidate: %+v", res)
	}
}

// The minimum gap holds a second change back, and says until when.
func TestMinGap(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, nil)
	st := e.open()
	rot := e.rotator(st)
	rot.Policy.MinGap = 6 * time.Hour
	ctx := ctxFor(t)
	if res, err := rot.Rotate(ctx, "alice"); err != nil || res.Outcome != rotation.Succeeded {
		t.Fatalf("%+v %v", res, err)
	}
	res, err := rot.Rotate(ctx, "alice")
	if err != nil || res.Outcome != rotation.Refused || !strings.Contains(res.Reason, "minimum gap") {
		t.Fatalf("%+v %v", res, err)
	}
	changes, _ := st.Changes(ctx, "alice", time.Time{})
	if len(changes) != 1 {
		t.Fatalf("%d changes stored, want 1", len(changes))
	}
	if want := changes[0].Add(rot.Policy.MinGap); !res.NextAllowed.Equal(want) {
		t.Errorf("next allowed %v, want %v (the change plus the gap)", res.NextAllowed, want)
	}
}

// A logout flow that fails while proving the new password is reported as
// the logout's failure, not as the new password failing to sign in: the
// sign-in is tried anyway (a GET /logout page signs out and offers nothing
// to click), and when it works the rotation succeeds with no failed
// sign-in counted. When it does not, the reason names both flows in the
// order they failed, and the run's Step is the logout's.
func TestLogoutFailureIsNamed(t *testing.T) {
	t.Parallel()
	e := newFakeEnv(t, nil)
	e.site.logoutFails, e.site.logoutSignsOut = true, true
	rot := e.rotator(e.open())
	var events []string
	rot.OnEvent = func(_, msg string) { events = append(events, msg) }
	res, err := rot.Rotate(ctxFor(t), "alice")
	if err != nil || res.Outcome != rotation.Succeeded || res.Recovered.Ran() {
		t.Fatalf("%+v %v", res, err)
	}
	if _, failed, _ := e.site.state(); failed != 0 {
		t.Errorf("%d failed sign-ins counted", failed)
	}
	if !slices.ContainsFunc(events, func(m string) bool {
		return strings.HasPrefix(m, "the logout flow failed (logout flow, step 1 (click): no a#logout on the page)")
	}) {
		t.Errorf("events %q", events)
	}

	// A logout that leaves the session signed in: the proof fails, and
	// recovery (which signs out its own way) finds the new password.
	e2 := newFakeEnv(t, nil)
	e2.site.logoutFails = true
	st2 := e2.open()
	res, err = e2.rotator(st2).Rotate(ctxFor(t), "alice")
	if err != nil || res.Outcome != rotation.Succeeded || !res.Recovered.Ran() {
		t.Fatalf("stuck signed in: %+v %v", res, err)
	}
	if cur, _ := st2.Password(context.Background(), "alice"); cur.Reveal() != e2.site.password {
		t.Error("stuck signed in: the vault's current password is not the site's")
	}

	out := stepFailure(templates.FlowVerify, &logoutFailed{
		logout: &browser.StepError{Flow: templates.FlowLogout, Path: "1", Step: templates.Step{Kind: templates.StepClick}, Err: errors.New("no a#logout")},
		login:  &browser.StepError{Flow: templates.FlowLogin, Path: "2", Step: templates.Step{Kind: templates.StepFill}, Err: errors.New("no #username")},
	})
	if want := "logout flow, step 1 (click): no a#logout; then, signing in anyway, login flow, step 2 (fill): no #username"; out.Reason != want {
		t.Errorf("reason %q\nwant   %q", out.Reason, want)
	}
	if out.Step == nil || out.Step.Flow != templates.FlowLogout {
		t.Errorf("step %+v, want the logout's", out.Step)
	}
}
