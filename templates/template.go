// Package templates is rotator's template language: YAML files that say how
// to sign in to one site (username, password, TOTP), how to change the
// password there, and how to tell that it worked.
//
// # Guarantees
//
//   - Loading is strict: an unknown key anywhere, inside steps too, is an
//     error "path:line:col: message", and every error of a file is reported
//     at once, not just the first.
//   - Values are checked when loaded: selectors, URL patterns, the
//     substitution variables each flow may use, Password Rules, challenge
//     detectors. A template that loads runs without surprises from its own
//     text.
//   - Secrets never leak through a template: a secret variable
//     ({{ password }}, {{ new_password }}, {{ totp }}) is refused in goto
//     URLs, log messages, screenshot names and eval scripts; goto opens
//     http and https URLs only; the engine types secrets only into the
//     site's origins (the base URL's, and the template's origins list).
//   - A verify flow really signs in with the new password ([SignsIn]).
//
// See the README's template reference for every key and step kind.
package templates

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Template is one site's template.
type Template struct {
	Name        string
	Description string
	// BaseURL is the site's root; relative goto URLs resolve against it. An
	// account may override it.
	BaseURL string
	// Origins are more web origins of the site ("https://login.example.com")
	// where secrets may be typed, besides the origin of the base URL (or of
	// the account's URL, which overrides it).
	Origins   []string
	UserAgent string
	Viewport  *Viewport
	// Proxy is an optional proxy URL for the browser (http://, socks5://).
	Proxy    string
	Timeouts Timeouts
	Rules    PasswordRules
	Params   map[string]Param
	// Challenges are the template's own detectors; built-in ones for common
	// CAPTCHA and trust prompts are added by the engine.
	Challenges []Challenge
	// Rejections recognise a site refusing a new password ("too weak",
	// "used before"), so that another candidate can be tried.
	Rejections []Matcher
	// Failures recognise a site saying a step failed ("wrong password"):
	// a wait_for or expect ends at once when one shows, instead of
	// waiting out its deadline. Rejections count as failures too.
	Failures []Matcher
	// MaxFailedSignIns is how many failed sign-ins one run may spend
	// proving which password works (0: the rotator's default, 2). A site
	// that locks an account after N failures wants fewer than N.
	MaxFailedSignIns int
	Flows            Flows
	// File is where the template was loaded from.
	File string
}

// Viewport is the browser window size.
type Viewport struct {
	Width, Height int
}

// Timeouts bound a run.
type Timeouts struct {
	Step time.Duration // default per step
	Run  time.Duration // a whole flow
}

// Default timeouts.
const (
	DefaultStepTimeout = 15 * time.Second
	DefaultRunTimeout  = 3 * time.Minute
)

// Param is a template parameter, such as a host name or address that differs
// between installations ({{ param.host }}).
type Param struct {
	Description string
	Default     string
}

// Flows are the step lists of a template.
type Flows struct {
	Login  []Step
	Change []Step
	Logout []Step
	// Verify is nil when the template does not define it: then the engine
	// logs out (or clears the session) and runs Login with the new password.
	Verify []Step
}

// Flow names.
const (
	FlowLogin  = "login"
	FlowChange = "change"
	FlowLogout = "logout"
	FlowVerify = "verify"
)

// Get returns a flow's steps by name.
func (f Flows) Get(name string) ([]Step, bool) {
	switch name {
	case FlowLogin:
		return f.Login, true
	case FlowChange:
		return f.Change, true
	case FlowLogout:
		return f.Logout, f.Logout != nil
	case FlowVerify:
		return f.Verify, f.Verify != nil
	}
	return nil, false
}

// ChallengeKind says what an operator must do.
type ChallengeKind string

// The challenge kinds.
const (
	ChallengeCaptcha      ChallengeKind = "captcha"
	ChallengeTrustBrowser ChallengeKind = "trust_browser"
	ChallengeVerification ChallengeKind = "verification" // location, e-mail or SMS check
	ChallengeBlocked      ChallengeKind = "blocked"
)

func (k ChallengeKind) valid() bool {
	switch k {
	case ChallengeCaptcha, ChallengeTrustBrowser, ChallengeVerification, ChallengeBlocked:
		return true
	}
	return false
}

// Challenge is a named detector.
type Challenge struct {
	Name string
	Kind ChallengeKind
	Matcher
	Line, Column int
}

// Matcher matches a page by any of its fields: an element present and
// visible, the URL containing a string or matching a regular expression, or
// visible text. Empty fields are not checked; at least one is set.
type Matcher struct {
	Selector *Selector
	URL      string
	URLRegex *regexp.Regexp
	Text     string
}

// IsZero reports whether no field is set.
func (m Matcher) IsZero() bool {
	return m.Selector == nil && m.URL == "" && m.URLRegex == nil && m.Text == ""
}

// StepKind names what a step does.
type StepKind string

// The step kinds.
const (
	StepGoto       StepKind = "goto"
	StepFill       StepKind = "fill"
	StepClick      StepKind = "click"
	StepSelect     StepKind = "select"
	StepCheck      StepKind = "check"
	StepPress      StepKind = "press"
	StepWaitFor    StepKind = "wait_for"
	StepExpect     StepKind = "expect"
	StepIf         StepKind = "if"
	StepFrame      StepKind = "frame"
	StepTOTP       StepKind = "totp"
	StepScreenshot StepKind = "screenshot"
	StepSleep      StepKind = "sleep"
	StepEval       StepKind = "eval"
	StepLog        StepKind = "log"
	StepProp       StepKind = "prop"
)

// ChangePasswordPage is the goto target that means "the site's change-password
// page": its /.well-known/change-password redirect, else Apple's list of
// change-password URLs.
const ChangePasswordPage = "change-password-page"

// Step is one action.
type Step struct {
	Kind StepKind
	// Label names the step in reports (the "name" key); empty: none.
	Label string
	// Timeout overrides the template's per-step timeout.
	Timeout time.Duration
	// Line and Column locate the step in its file.
	Line, Column int

	URL      Text      // goto
	Target   *Selector // fill, click, select, check, totp, prop, frame, press (optional)
	Value    Text      // fill, select (option), prop
	Keys     bool      // fill, totp: type key by key
	JS       bool      // click: dispatch a JavaScript click
	Checked  bool      // check
	Key      string    // press
	Cond     Condition // wait_for, expect, if
	Message  string    // expect: the failure message
	Then     []Step    // if
	Else     []Step    // if
	Steps    []Step    // frame
	Script   string    // eval
	Duration time.Duration
	Text     Text   // log message, screenshot name
	Property string // prop
}

// Describe is a short human description: "fill #username".
func (s Step) Describe() string {
	var b strings.Builder
	b.WriteString(string(s.Kind))
	switch s.Kind {
	case StepGoto:
		b.WriteString(" " + s.URL.Raw)
	case StepWaitFor, StepExpect, StepIf:
		b.WriteString(" " + s.Cond.String())
	case StepPress:
		b.WriteString(" " + s.Key)
	case StepSleep:
		b.WriteString(" " + s.Duration.String())
	case StepLog, StepScreenshot:
		b.WriteString(" " + s.Text.Raw)
	default:
		if s.Target != nil {
			b.WriteString(" " + s.Target.String())
		}
	}
	if s.Label != "" {
		return s.Label + " (" + b.String() + ")"
	}
	return b.String()
}

// CondKind is what a condition checks.
type CondKind string

// The condition kinds.
const (
	CondVisible CondKind = "visible" // an element is present and visible
	CondHidden  CondKind = "hidden"  // no such element is visible
	CondExists  CondKind = "exists"  // an element is in the DOM
	CondURL     CondKind = "url"     // the URL contains a string
	CondURLRe   CondKind = "url_re"  // the URL matches a regular expression
	CondText    CondKind = "text"    // the page's visible text contains a string
)

// Condition is a check on the page.
type Condition struct {
	Kind     CondKind
	Selector *Selector
	Pattern  string
	Regexp   *regexp.Regexp
}

func (c Condition) String() string {
	switch c.Kind {
	case CondVisible, CondHidden, CondExists:
		return string(c.Kind) + " " + c.Selector.String()
	}
	return fmt.Sprintf("%s %q", c.Kind, c.Pattern)
}

// SelectorKind is how an alternative finds its element.
type SelectorKind string

// Selector kinds.
const (
	SelCSS   SelectorKind = "css"
	SelXPath SelectorKind = "xpath"
	// SelText finds the innermost element matching CSS (any element when
	// empty) whose visible text contains Text: "text=Sign in", or jQuery's
	// "button:contains(Sign in)".
	SelText SelectorKind = "text"
)

// Alternative is one way to find an element.
type Alternative struct {
	Raw  string
	Kind SelectorKind
	// CSS is the CSS selector (css and text kinds).
	CSS   string
	XPath string
	Text  string
	// Within are the CSS selectors of a "host >>> inner" chain before its
	// last part, outermost first: CSS and Text are looked for inside the
	// open shadow root, or the same-origin frame's document, of an element
	// matching the last of them, found the same way inside the one before.
	// Empty for a selector that is not a chain.
	Within []string
}

// Selector is an ordered list of alternatives, tried in turn; the first that
// matches wins, and the engine reports which.
type Selector struct {
	Alternatives []Alternative
}

func (s *Selector) String() string {
	if s == nil {
		return ""
	}
	raws := make([]string, len(s.Alternatives))
	for i, a := range s.Alternatives {
		raws[i] = a.Raw
	}
	if len(raws) == 1 {
		return raws[0]
	}
	return "[" + strings.Join(raws, " | ") + "]"
}

// ParseAlternative reads one selector string:
//
//	#id, input[name=x]          CSS
//	xpath=//a[@id='x'], //a     XPath (also any selector starting with / or ()
//	text=Sign in                innermost element whose text contains "Sign in"
//	button:contains(Sign in)    innermost button whose text contains "Sign in"
//	my-app >>> #password        #password inside my-app's open shadow root
//	iframe#login >>> #password  #password inside a same-origin frame's page
func ParseAlternative(raw string) (Alternative, error) {
	s := strings.TrimSpace(raw)
	a := Alternative{Raw: s}
	if chain := splitChain(strings.TrimPrefix(s, "css=")); len(chain) > 1 && !strings.HasPrefix(s, "text=") && !xpathLike(s) {
		return parseChain(s, chain)
	}
	switch {
	case s == "":
		return a, fmt.Errorf("empty selector")
	case strings.HasPrefix(s, "xpath="):
		a.Kind, a.XPath = SelXPath, strings.TrimPrefix(s, "xpath=")
	case xpathLike(s):
		a.Kind, a.XPath = SelXPath, s
	case strings.HasPrefix(s, "text="):
		a.Kind, a.Text = SelText, strings.TrimSpace(strings.TrimPrefix(s, "text="))
		if a.Text == "" {
			return a, fmt.Errorf("selector %q has no text", s)
		}
		return a, nil
	case strings.HasPrefix(s, "css="):
		a.Kind, a.CSS = SelCSS, strings.TrimPrefix(s, "css=")
	default:
		if css, text, ok := cutContains(s); ok {
			a.Kind, a.CSS = SelText, strings.TrimSpace(css)
			a.Text = strings.Trim(strings.TrimSpace(text), `"'`)
			if a.Text == "" {
				return a, fmt.Errorf("selector %q: :contains() is empty", s)
			}
			if a.CSS != "" {
				if err := checkCSS(a.CSS); err != nil {
					return a, fmt.Errorf("selector %q: %w", s, err)
				}
			}
			return a, nil
		}
		a.Kind, a.CSS = SelCSS, s
	}
	switch a.Kind {
	case SelCSS:
		if err := checkCSS(a.CSS); err != nil {
			return a, fmt.Errorf("selector %q: %w", s, err)
		}
	case SelXPath:
		if err := checkXPath(a.XPath); err != nil {
			if strings.Contains(a.XPath, chainCombinator) {
				err = fmt.Errorf("%w (>>> reaches into shadow roots and frames from CSS only)", err)
			}
			return a, fmt.Errorf("selector %q: %w", s, err)
		}
	}
	return a, nil
}

// Variables of the substitution syntax {{ name }}.
const (
	VarUsername    = "username"
	VarPassword    = "password"     // the password being used to sign in
	VarNewPassword = "new_password" // change flow: the new password
	VarTOTP        = "totp"         // a fresh TOTP code
	paramPrefix    = "param."
)

// IsSecretVar reports whether a variable holds a secret.
func IsSecretVar(name string) bool {
	return name == VarPassword || name == VarNewPassword || name == VarTOTP
}

// Text is a string with {{ variable }} substitutions, parsed.
type Text struct {
	Raw   string
	Parts []TextPart
}

// TextPart is literal text or a variable.
type TextPart struct {
	Literal string
	Var     string // set for a variable
}

// Vars lists the variables a text uses.
func (t Text) Vars() []string {
	var out []string
	for _, p := range t.Parts {
		if p.Var != "" {
			out = append(out, p.Var)
		}
	}
	return out
}

// HasSecret reports whether the text uses a secret variable.
func (t Text) HasSecret() bool {
	for _, v := range t.Vars() {
		if IsSecretVar(v) {
			return true
		}
	}
	return false
}

// ParseText parses "{{ username }}@example.com". "{{" must open a variable;
// there is no escape, as no site needs a literal "{{".
func ParseText(s string) (Text, error) {
	t := Text{Raw: s}
	rest := s
	for {
		i := strings.Index(rest, "{{")
		if i < 0 {
			if rest != "" {
				t.Parts = append(t.Parts, TextPart{Literal: rest})
			}
			return t, nil
		}
		if i > 0 {
			t.Parts = append(t.Parts, TextPart{Literal: rest[:i]})
		}
		j := strings.Index(rest[i:], "}}")
		if j < 0 {
			return t, fmt.Errorf("%q: '{{' without '}}'", s)
		}
		name := strings.TrimSpace(rest[i+2 : i+j])
		if !validVarName(name) {
			return t, fmt.Errorf("%q: {{ %s }} is not a variable name", s, name)
		}
		switch {
		case name == VarUsername, name == VarPassword, name == VarNewPassword, name == VarTOTP:
		case strings.HasPrefix(name, paramPrefix):
		default:
			return t, fmt.Errorf("unknown variable {{ %s }} (want username, password, new_password, totp or param.NAME)", name)
		}
		t.Parts = append(t.Parts, TextPart{Var: name})
		rest = rest[i+j+2:]
	}
}

// Expand substitutes variables with lookup.
func (t Text) Expand(lookup func(string) (string, error)) (string, error) {
	var b strings.Builder
	for _, p := range t.Parts {
		if p.Var == "" {
			b.WriteString(p.Literal)
			continue
		}
		v, err := lookup(p.Var)
		if err != nil {
			return "", err
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// ResolveURL resolves a goto target against the base URL.
func ResolveURL(base, target string) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("URL %q: %w", target, err)
	}
	if u.IsAbs() {
		return u.String(), nil
	}
	b, err := url.Parse(base)
	if err != nil || !b.IsAbs() {
		return "", fmt.Errorf("relative URL %q needs an absolute base URL, not %q", target, base)
	}
	return b.ResolveReference(u).String(), nil
}

// sortedKeys returns map keys in order, for stable messages.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
