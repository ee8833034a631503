package browser

import (
	"context"
	"errors"
	"fmt"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/internal/demoacct"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

const demoSecret = "JBSWY3DPEHPK3PXP"

// stepGuard is an in-memory replay guard.
type stepGuard struct {
	mu   sync.Mutex
	last map[string]uint64
}

func (g *stepGuard) ClaimStep(_ context.Context, account string, step uint64) (bool, uint64, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.last == nil {
		g.last = map[string]uint64{}
	}
	if l, ok := g.last[account]; ok && step <= l {
		return false, l, nil
	}
	g.last[account] = step
	return true, step, nil
}

type fixture struct {
	t    testing.TB
	site *demosite.Site
	srv  *httptest.Server
	page *rod.Page
	dir  string
}

func newFixture(t *testing.T, users ...demosite.UserSpec) *fixture {
	t.Helper()
	site := demosite.New(demosite.Options{})
	for _, u := range users {
		if err := site.AddUser(u); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(site.Handler())
	t.Cleanup(srv.Close)
	inc, err := sharedBrowser(t).Rod().Incognito()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inc.Close() })
	page, err := inc.Page(proto.TargetCreateTarget{URL: "about:blank"})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, site: site, srv: srv, page: page, dir: t.TempDir()}
}

func loadTemplate(t *testing.T, path string) *templates.Template {
	t.Helper()
	tpl, diags := templates.LoadFile(path)
	if tpl == nil {
		t.Fatal(diags.Err())
	}
	return tpl
}

func (f *fixture) runner(tpl *templates.Template, u demosite.UserSpec, guard *stepGuard) *Runner {
	vals := Values{Username: u.Name, Password: secret.New(u.Password)}
	if tt := demoacct.TOTP(f.t, u); tt != nil {
		gen := otp.Generator{Guard: guard}
		vals.TOTP = func(ctx context.Context) (secret.String, error) {
			tok, err := gen.Fresh(ctx, u.Name, tt.Key, tt.MinValidityOr(time.Second))
			return tok.Code, err
		}
	}
	return &Runner{Template: tpl, BaseURL: f.srv.URL, Page: f.page, Values: vals, ArtifactDir: f.dir}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	return ctx
}

var demoTemplate = filepath.Join("..", "templates", "demo-social.yaml")

func TestLoginVariants(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		user   demosite.UserSpec
		layout string
	}{
		{"one step", demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"}, "v1"},
		{"one step with TOTP", demosite.UserSpec{Name: "bob", Password: "Bob-pass-12345", TOTPSecret: demoSecret, TOTPPeriod: demoacct.ShortPeriod}, "v1"},
		{"two step", demosite.UserSpec{Name: "carol", Password: "Carol-pass-1234", TwoStep: true}, "v1"},
		{"two step with TOTP", demosite.UserSpec{Name: "dave", Password: "Dave-pass-12345", TwoStep: true, TOTPSecret: demoSecret, TOTPPeriod: demoacct.ShortPeriod}, "v1"},
		{"v2 layout, two step with TOTP", demosite.UserSpec{Name: "erin", Password: "Erin-pass-12345", TwoStep: true, TOTPSecret: demoSecret, TOTPPeriod: demoacct.ShortPeriod}, "v2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.user)
			if err := f.site.SetLayout(tt.layout); err != nil {
				t.Fatal(err)
			}
			r := f.runner(loadTemplate(t, demoTemplate), tt.user, &stepGuard{})
			var steps []StepReport
			r.OnStep = func(s StepReport) { steps = append(steps, s) }
			if err := r.RunFlow(ctxFor(t), templates.FlowLogin); err != nil {
				t.Fatalf("login: %v", err)
			}
			st, _ := f.site.User(tt.user.Name)
			if st.SignIns != 1 {
				t.Errorf("site counted %d sign-ins", st.SignIns)
			}
			// The report names which alternative matched.
			want := "#username"
			if tt.layout == "v2" {
				want = "#user-login"
			}
			found := false
			for _, s := range steps {
				if s.Path == "2" && s.Matched == want {
					found = true
				}
			}
			if !found {
				t.Errorf("step 2 did not report %s as the matching alternative: %+v", want, steps)
			}
		})
	}
}

func TestWrongPasswordFailsAtExpect(t *testing.T) {
	t.Parallel()
	u := demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"}
	f := newFixture(t, u)
	tpl := loadTemplate(t, demoTemplate)
	// Only the expect that must fail gets a short deadline: a short one on
	// every step fails typing on a loaded machine instead.
	login := tpl.Flows.Login
	if login[len(login)-1].Kind != templates.StepExpect {
		t.Fatal("the demo template's login no longer ends with an expect")
	}
	login[len(login)-1].Timeout = 2 * time.Second
	u.Password = "wrong-password"
	err := f.runner(tpl, u, nil).RunFlow(ctxFor(t), templates.FlowLogin)
	var se *StepError
	if !errors.As(err, &se) || se.Path != "7" || !strings.Contains(se.Error(), "sign-in did not reach the home page") {
		t.Fatalf("got %v", err)
	}
	if strings.Contains(err.Error(), "wrong-password") {
		t.Error("error holds the password")
	}
	if len(se.Artifacts) != 3 {
		t.Errorf("artifacts %v", se.Artifacts)
	}
	for _, a := range se.Artifacts {
		if _, err := os.Stat(a); err != nil {
			t.Error(err)
		}
	}
}

// A step's timeout bounds each key typed, not the whole value: a long
// password typed key by key into a page that takes its time over every key
// is typed in full, as long as no single key stalls. (Before, the deadline
// covered the whole value, and a loaded machine cut typing short.)
func TestTypingDeadlineIsPerKey(t *testing.T) {
	t.Parallel()
	const (
		perKey = 75 * time.Millisecond
		step   = 2500 * time.Millisecond
	)
	srv := site(t, map[string]string{"/slow": fmt.Sprintf(`<!doctype html><title>slow</title>
<input id="pw" type="password">
<script>
document.getElementById("pw").addEventListener("keydown", () => {
	const end = Date.now() + %d;
	while (Date.now() < end) {}
});
</script>`, perKey.Milliseconds())})
	tpl := parseTemplate(t, fmt.Sprintf(`name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /slow
    - wait_for: {visible: "#pw"}
      timeout: 30s
    - fill: "#pw"
      value: "{{ password }}"
      keys: true
      timeout: %s
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`, step))
	pw := strings.Repeat("Ab3-", 10) // 40 keys: 3 s of the page's time
	if time.Duration(len(pw))*perKey <= step {
		t.Fatal("the value types faster than one step's timeout: the test proves nothing")
	}
	r := exfilRunner(t, tpl, srv.URL)
	r.Values.Password = secret.New(pw)
	if err := r.RunFlow(ctxFor(t), templates.FlowLogin); err != nil {
		t.Fatal(err)
	}
	if got := r.Page.MustElement("#pw").MustProperty("value").Str(); got != pw {
		t.Errorf("the field holds %d characters, want %d", len(got), len(pw))
	}
}

func TestChallengesAreTyped(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		user     demosite.UserSpec
		kind     templates.ChallengeKind
		detector string
	}{
		{"captcha", demosite.UserSpec{Name: "cap", Password: "Cap-pass-123456", Captcha: true}, templates.ChallengeCaptcha, "demo-captcha"},
		{"trust prompt", demosite.UserSpec{Name: "tru", Password: "Tru-pass-123456", TrustPrompt: true}, templates.ChallengeTrustBrowser, "demo-trust-prompt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tt.user)
			err := f.runner(loadTemplate(t, demoTemplate), tt.user, nil).RunFlow(ctxFor(t), templates.FlowLogin)
			var ce *ChallengeError
			if !errors.As(err, &ce) {
				t.Fatalf("got %v, want a challenge", err)
			}
			if ce.Kind != tt.kind || ce.Name != tt.detector || ce.Flow != "login" || ce.Step != "4" || ce.Screenshot == "" {
				t.Errorf("challenge %+v", ce)
			}
			if _, err := os.Stat(ce.Screenshot); err != nil {
				t.Error(err)
			}
		})
	}
}

// Without the template's own detectors, the built-in trust-prompt detector
// still sees the interstitial.
func TestBuiltinDetectors(t *testing.T) {
	t.Parallel()
	u := demosite.UserSpec{Name: "tru", Password: "Tru-pass-123456", TrustPrompt: true}
	f := newFixture(t, u)
	tpl := loadTemplate(t, demoTemplate)
	tpl.Challenges = nil
	err := f.runner(tpl, u, nil).RunFlow(ctxFor(t), templates.FlowLogin)
	var ce *ChallengeError
	if !errors.As(err, &ce) || ce.Kind != templates.ChallengeTrustBrowser || !ce.Builtin {
		t.Fatalf("got %v", err)
	}

	// Widgets of the common CAPTCHA services, by their frames.
	for _, svc := range []struct{ path, name string }{
		{"/recaptcha/api2/anchor?k=x", "recaptcha"},
		{"/hcaptcha.com/captcha", "hcaptcha"},
		{"/challenges.cloudflare.com/turnstile", "turnstile"},
		{"/client-api.arkoselabs.com/fc", "arkose"},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			if r.URL.Path == "/" {
				fmt.Fprintf(w, `<!doctype html><h1>Sign in</h1><iframe src="%s" width="300" height="80"></iframe>`, svc.path)
				return
			}
			fmt.Fprint(w, `<p>widget</p>`)
		}))
		defer srv.Close()
		tpl := &templates.Template{Name: "x", BaseURL: srv.URL, Timeouts: templates.Timeouts{Step: 5 * time.Second, Run: 20 * time.Second},
			Flows: templates.Flows{Login: []templates.Step{{Kind: templates.StepGoto, URL: templates.Text{Raw: "/", Parts: []templates.TextPart{{Literal: "/"}}}}}}}
		r := &Runner{Template: tpl, Page: f.page}
		err := r.RunFlow(ctxFor(t), templates.FlowLogin)
		if !errors.As(err, &ce) || ce.Name != svc.name || ce.Kind != templates.ChallengeCaptcha {
			t.Errorf("%s: got %v", svc.name, err)
		}
	}
}

// A v1 template on the v2 layout fails at the first changed selector, names
// the step, and offers the v2 field as a candidate.
func TestRedesignFailureOffersCandidates(t *testing.T) {
	t.Parallel()
	u := demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"}
	f := newFixture(t, u)
	if err := f.site.SetLayout("v2"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err := f.runner(loadTemplate(t, filepath.Join("testdata", "demo-v1-only.yaml")), u, nil).RunFlow(ctxFor(t), templates.FlowLogin)
	var se *StepError
	if !errors.As(err, &se) {
		t.Fatalf("got %v", err)
	}
	if se.Path != "2" || se.Step.Kind != templates.StepFill || !strings.Contains(se.Error(), "login step 2, fill #username") ||
		!strings.Contains(se.Error(), "demo-v1-only.yaml:8:7") {
		t.Errorf("error %v", se)
	}
	// The field's name, before its id: the stablest attribute first.
	if len(se.Candidates) == 0 || se.Candidates[0].Selector != `input[name="login"]` {
		t.Errorf("candidates %+v", se.Candidates)
	}
	if d := time.Since(start); d > 15*time.Second {
		t.Errorf("took %v with a 3 s step deadline", d)
	}
	// The first candidate has a picture of its own: the field and around
	// it, not the whole page.
	if len(se.Candidates) > 0 {
		f, err := os.Open(se.Candidates[0].Crop)
		if err != nil {
			t.Fatalf("no crop of the first candidate: %v", err)
		}
		defer f.Close()
		cfg, err := png.DecodeConfig(f)
		if err != nil || cfg.Width == 0 || cfg.Width >= 1280 || cfg.Height >= 800 {
			t.Errorf("crop %dx%d (%v), want a part of the 1280x800 page", cfg.Width, cfg.Height, err)
		}
	}
}

// The shipped template's alternatives carry a whole rotation across the
// redesign: login, change, logout, and login with the new password.
func TestDemoTemplateChangesPasswordOnBothLayouts(t *testing.T) {
	t.Parallel()
	for _, layout := range []string{"v1", "v2"} {
		t.Run(layout, func(t *testing.T) {
			t.Parallel()
			u := demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234", TOTPSecret: demoSecret, TOTPPeriod: demoacct.ShortPeriod}
			f := newFixture(t, u)
			if err := f.site.SetLayout(layout); err != nil {
				t.Fatal(err)
			}
			guard := &stepGuard{}
			r := f.runner(loadTemplate(t, demoTemplate), u, guard)
			ctx := ctxFor(t)
			newPW := "New-Pass-" + layout + "-2026-xyz"
			r.Values.NewPassword = secret.New(newPW)
			for _, flow := range []string{templates.FlowLogin, templates.FlowChange, templates.FlowLogout} {
				if err := r.RunFlow(ctx, flow); err != nil {
					t.Fatalf("%s: %v", flow, err)
				}
			}
			if st, _ := f.site.User("alice"); st.Password != newPW {
				t.Fatalf("site password not changed")
			}
			r.Values.Password = r.Values.NewPassword
			if err := r.RunFlow(ctx, templates.FlowLogin); err != nil {
				t.Fatalf("login with the new password: %v", err)
			}
		})
	}
}

// The browser presses every key a template may name, and no other: one key
// table, so a press step that validates never fails at run time for its
// key.
func TestKeyTableIsTheTemplates(t *testing.T) {
	for _, name := range templates.KeyNames {
		if _, ok := keyFor(name); !ok {
			t.Errorf("press %q validates but the browser has no key for it", name)
		}
	}
	for c := 0x20; c <= 0x7e; c++ {
		if _, ok := keyFor(string(rune(c))); !ok {
			t.Errorf("press %q validates but the browser has no key for it", string(rune(c)))
		}
	}
	for _, bad := range []string{"é", "F13", "enter", "", "ab"} {
		if templates.ValidKey(bad) {
			t.Errorf("press %q validates", bad)
		}
		if _, ok := keyFor(bad); ok {
			t.Errorf("the browser presses %q, which no template may name", bad)
		}
	}
	if len(namedKeys) != len(templates.KeyNames) {
		t.Errorf("the browser maps %d named keys, templates name %d", len(namedKeys), len(templates.KeyNames))
	}
}
