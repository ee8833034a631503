package browser

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// loginPage is a sign-in form whose button shows result (HTML) in place of
// the form, as a single-page app does after a failed sign-in.
func loginPage(result string) string {
	return fmt.Sprintf(`<!doctype html><meta charset="utf-8"><title>sign in</title>
<form id="f" onsubmit="return false"><input id="pw" type="password"><button id="go" type="button">Sign in</button></form>
<p>If you enter a wrong password five times, your account is locked. <a href="/forgot">Forgot password?</a></p>
<div id="out"></div>
<script>
document.getElementById("go").addEventListener("click", () => { document.getElementById("out").setHTMLUnsafe(%q); });
</script>`, result)
}

// A sign-in that fails is recognised from the site's own words, in many
// languages, from a password field marked invalid, and from HTTP 401 or
// 403, with no failures: section in the template: the expect ends at
// once, saying why, instead of waiting out its 30 s. Help texts that
// mention a wrong password are not taken for one.
func TestSignInFailureRecognised(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		result string
		want   string // in the error; "" for no sign-in failure
	}{
		"english":   {`<div class="error-message">The password you entered is incorrect.</div>`, `the page says "The password you entered is incorrect."`},
		"portugues": {`<div role="alert">Usuário ou senha inválidos</div>`, "Usuário ou senha inválidos"},
		"deutsch":   {`<span class="form-error">Falsches Passwort. Bitte erneut versuchen.</span>`, "Falsches Passwort"},
		"japanese":  {`<p class="alert alert-danger">パスワードが正しくありません</p>`, "パスワードが正しくありません"},
		"russian":   {`<div id="login-error-box">Неверный логин или пароль</div>`, "Неверный логин или пароль"},
		"aria-invalid": {`<input type="password" aria-invalid="true" aria-describedby="pwhelp pwerr"><span id="pwhelp"></span><span id="pwerr">Try again</span>`,
			`the password field came back marked invalid: "Try again"`},
		"shadow root": {`<x-login><template shadowrootmode="open"><p class="form-error">Incorrect password.</p></template></x-login>`, "Incorrect password."},
		"shadow aria-invalid": {`<x-pw><template shadowrootmode="open"><input type="password" aria-invalid="true" aria-describedby="e"><span id="e">Wrong password</span></template></x-pw>`,
			`the password field came back marked invalid: "Wrong password"`},
		// The words of the three real sites' skins: no phrase of a list.
		"facebook": {`<div id="login_error" role="alert">A senha inserida está incorreta.</div>`, "A senha inserida está incorreta."},
		"twitter": {`<div class="message"><div class="errors">The username and password you entered did not match our records. Please double-check and try again.</div></div>`,
			"did not match our records"},
		"linkedin": {`<span class="body__banner--error" role="alert">Hmm, that's not the right password. Please try again or request a new one.</span>`, "not the right password"},
		// Not failures: a hidden error template, help text outside any
		// error element, an error that says something else.
		"hidden error":  {`<div class="error" style="display:none">Wrong password</div>`, ""},
		"other message": {`<div class="error">Please accept the cookies</div>`, ""},
		"a rule":        {`<div class="error">Password must be at least 8 characters. Please enter a valid password.</div>`, ""},
	}
	pages := map[string]string{}
	for name, c := range cases {
		pages["/"+name] = loginPage(c.result)
	}
	srv := site(t, pages)
	page := newPage(t)
	for name, c := range cases {
		// One page for every case, one after the other: a page of its own
		// each would cost more CPU than the cases themselves.
		t.Run(name, func(t *testing.T) {
			timeout := "30s"
			if c.want == "" {
				timeout = "1s"
			}
			tpl := parseTemplate(t, fmt.Sprintf(`name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /%s
    - fill: "#pw"
      value: "{{ password }}"
    - click: "#go"
    - expect: {url: /home}
      timeout: %s
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`, name, timeout))
			r := &Runner{Template: tpl, BaseURL: srv.URL, Page: page, ArtifactDir: t.TempDir(),
				Values: Values{Username: "alice", Password: secret.New(exfilPassword)}}
			start := time.Now()
			err := r.RunFlow(ctxFor(t), templates.FlowLogin)
			var se *StepError
			if !errors.As(err, &se) || se.Path != "4" {
				t.Fatalf("got %v, want the expect to fail", err)
			}
			if c.want == "" {
				if strings.Contains(err.Error(), "sign-in failed") {
					t.Fatalf("taken for a failed sign-in: %v", err)
				}
				return
			}
			if !strings.Contains(err.Error(), "the sign-in failed: ") || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want the sign-in failure %q", err, c.want)
			}
			t.Logf("failed after %v", time.Since(start).Round(time.Millisecond))
		})
	}
}

// A wrong password on the demo site, whose template is stripped of its
// failures: section, fails at the expect with the site's words and its
// HTTP 401, not after the step's deadline; before any secret is typed, and
// outside the flows that sign in, the site's words mean nothing.
func TestWrongPasswordFailsFastWithoutFailures(t *testing.T) {
	t.Parallel()
	u := demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"}
	f := newFixture(t, u)
	tpl := loadTemplate(t, demoTemplate)
	tpl.Failures = nil
	login := tpl.Flows.Login
	login[len(login)-1].Timeout = 30 * time.Second
	u.Password = "wrong-password"
	start := time.Now()
	err := f.runner(tpl, u, nil).RunFlow(ctxFor(t), templates.FlowLogin)
	took := time.Since(start)
	var se *StepError
	if !errors.As(err, &se) || se.Path != "7" || !strings.Contains(se.Error(), "the sign-in failed: ") {
		t.Fatalf("got %v", err)
	}
	t.Logf("a wrong password failed the login flow in %v: %v", took.Round(time.Millisecond), se.Err)
}

// HTTP 401 and 403 after the form is sent are failed sign-ins.
func TestSignInFailureHTTPStatus(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `<!doctype html><title>no</title><p>Nope.</p>`)
			return
		}
		fmt.Fprint(w, `<!doctype html><title>sign in</title><form method="post" action="/login"><input id="pw" type="password" name="pw"><button id="go">Sign in</button></form>`)
	}))
	t.Cleanup(srv.Close)
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: "#pw"
      value: "{{ password }}"
    - click: "#go"
    - expect: {url: /home}
      timeout: 30s
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	err := exfilRunner(t, tpl, srv.URL).RunFlow(ctxFor(t), templates.FlowLogin)
	if err == nil || !strings.Contains(err.Error(), "the sign-in failed: the site answered HTTP 403") {
		t.Fatalf("got %v", err)
	}
}

// The page's words are quoted in the error, and a lying page may put
// anything there: what the run typed and the page's cookies come out as
// [redacted].
func TestSignInFailureQuotesNoSecret(t *testing.T) {
	t.Parallel()
	const cookie = "sessioncookie0123456789"
	srv := site(t, map[string]string{"/lie": `<!doctype html><meta charset="utf-8"><title>sign in</title>
<input id="pw" type="password"><button id="go" type="button">Sign in</button><div id="out"></div>
<script>
document.cookie = "sid=` + cookie + `; path=/";
document.getElementById("go").addEventListener("click", () => {
	document.getElementById("out").innerHTML = '<div class="error">Wrong password ' + document.getElementById("pw").value + ' for ' + document.cookie + '</div>';
});
</script>`})
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /lie
    - fill: "#pw"
      value: "{{ password }}"
    - click: "#go"
    - expect: {url: /home}
      timeout: 30s
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	err := exfilRunner(t, tpl, srv.URL).RunFlow(ctxFor(t), templates.FlowLogin)
	if err == nil || !strings.Contains(err.Error(), "the sign-in failed: ") {
		t.Fatalf("got %v", err)
	}
	if msg := err.Error(); strings.Contains(msg, exfilPassword) || strings.Contains(msg, cookie) || !strings.Contains(msg, secret.Redacted) {
		t.Errorf("the error quotes a secret: %d bytes, redacted %v", len(msg), strings.Contains(msg, secret.Redacted))
	}
}
