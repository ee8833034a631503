package importer

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/rotator-pam/rotator/internal/weburl"
	"github.com/rotator-pam/rotator/templates"
)

// A Chrome DevTools Recorder export (JSON): a title and steps of type
// setViewport, navigate, click, doubleClick, change, keyDown, keyUp,
// waitForElement, waitForExpression, scroll, hover, each element step with
// "selectors": a list of alternatives, each a list (a path through frames
// and shadow roots) of "css", "xpath/...", "aria/...", "text/..." or
// "pierce/..." selectors.

type recording struct {
	Title string    `json:"title"`
	Steps []recStep `json:"steps"`
}

type recStep struct {
	Type       string  `json:"type"`
	URL        string  `json:"url"`
	Value      string  `json:"value"`
	Key        string  `json:"key"`
	Expression string  `json:"expression"`
	Selectors  [][]any `json:"selectors"`
	Width      int     `json:"width"`
	Height     int     `json:"height"`
	Frame      []int   `json:"frame"`
	Target     string  `json:"target"`
	Count      *int    `json:"count"`
	Visible    *bool   `json:"visible"`
}

// recStepOut is a mapped step with what the splitter needs to know.
type recStepOut struct {
	step
	role   string // username, password, new_password, totp, or ""
	submit bool
	index  int
}

// Words that say what a field is, looked for anywhere in its selectors
// (lower case).
var (
	passHintRE = regexp.MustCompile(`pass|pwd|secret`)
	curHintRE  = regexp.MustCompile(`current|old|existing`)
	newHintRE  = regexp.MustCompile(`new|confirm|repeat|again|retype|verify`)
	userHintRE = regexp.MustCompile(`user|login|email|e-mail|account|identifier|session_key`)
	// totpHintRE is looked for with separators removed (hintSeparatorRE):
	// "one-time", "one_time" and "onetime" are one hint.
	totpHintRE = regexp.MustCompile(`otp|2fa|mfa|onetime|verificationcode|authcode|securitycode|approvalscode|pin`)
	// hintSeparatorRE joins words for the TOTP hints: "one-time",
	// "one_time", "one time" and "one.time" all read "onetime".
	hintSeparatorRE = regexp.MustCompile(`[-_ .]`)
	// codeWordRE is "code" as a word of its own: not inside a longer run
	// of lower-case letters and digits ("code", "#code", "otp-code", but
	// not "postcode" or "code2").
	codeWordRE = regexp.MustCompile(`(?:^|[^a-z0-9])code(?:[^a-z0-9]|$)`)
)

// totpField: a TOTP hint, or the word "code" on its own, in s (lower
// case).
func totpField(s string) bool {
	return totpHintRE.MatchString(hintSeparatorRE.ReplaceAllString(s, "")) || codeWordRE.MatchString(s)
}

// Recorder converts a Chrome DevTools Recorder export. Typed values are
// never copied into the template: each typed field becomes {{ username }},
// {{ password }}, {{ new_password }} or {{ totp }} by what the field looks
// like, and the notes say which, for the author to check.
func Recorder(name string, src []byte) (*Result, error) {
	var rec recording
	if err := json.Unmarshal(src, &rec); err != nil {
		return nil, fmt.Errorf("not a Recorder export (JSON): %w", err)
	}
	if len(rec.Steps) == 0 {
		return nil, errors.New("the recording has no steps")
	}
	if name == "" {
		name = rec.Title
	}
	c := &recConv{d: &doc{name: safeName(name), params: map[string]string{}, flows: map[string][]step{}}}
	for i, s := range rec.Steps {
		c.step(i+1, s)
	}
	if c.d.baseURL == "" {
		return nil, errors.New("the recording never navigates: record from a page load (the Recorder's first navigate step) so the template knows where to start")
	}
	if err := c.split(); err != nil {
		return nil, err
	}
	c.d.description = "Imported from a Chrome DevTools Recorder export (" + rec.Title + "); check the import notes, then run `rotator template test`."
	c.d.headComment = "Imported by `rotator template import --from recorder`. Values typed during the\nrecording are not kept: each field got a {{ }} variable (see the notes);\nrun `rotator template test " + c.d.name + ".yaml --account NAME` before relying on it."
	return c.d.result(c.notes)
}

type recConv struct {
	d     *doc
	out   []recStepOut
	notes []Note
	// passwords counts password fields typed into since the last submit.
	passwords int
}

func (c *recConv) note(n int, warn bool, format string, args ...any) {
	c.notes = append(c.notes, Note{Line: n, Step: true, Warning: warn, Msg: fmt.Sprintf(format, args...)})
}

// selectors maps the Recorder's alternatives to rotator's; those that
// reach into frames or shadow roots, and ARIA names, are reported.
func (c *recConv) selectors(n int, in [][]any) []string {
	// CSS and XPath first: an ARIA name or a text finds the label as
	// well as the field, so those come last.
	var out, byText []string
	seen := map[string]bool{}
	for _, path := range in {
		if len(path) == 0 {
			continue
		}
		if len(path) > 1 {
			c.note(n, true, "the selector %v goes through a frame or shadow root: only its last part is kept; wrap the step in a frame step if it is in an iframe", path)
		}
		raw, _ := path[len(path)-1].(string)
		var sel string
		switch {
		case strings.HasPrefix(raw, "aria/"):
			name := strings.TrimPrefix(raw, "aria/")
			if i := strings.Index(name, "["); i > 0 {
				name = strings.TrimSpace(name[:i]) // aria/Name[role="button"]
			}
			if name == "" {
				continue
			}
			sel = "text=" + name
		case strings.HasPrefix(raw, "text/"):
			sel = "text=" + strings.TrimPrefix(raw, "text/")
		case strings.HasPrefix(raw, "xpath/"):
			sel = "xpath=" + strings.TrimPrefix(raw, "xpath/")
		case strings.HasPrefix(raw, "pierce/"):
			sel = strings.TrimPrefix(raw, "pierce/")
		default:
			sel = raw
		}
		if _, err := templates.ParseAlternative(sel); err != nil {
			c.note(n, false, "selector %q: %v; left out", raw, err)
			continue
		}
		if seen[sel] {
			continue
		}
		seen[sel] = true
		if strings.HasPrefix(sel, "text=") {
			byText = append(byText, sel)
		} else {
			out = append(out, sel)
		}
	}
	return append(out, byText...)
}

func target(sels []string) any {
	if len(sels) == 1 {
		return sels[0]
	}
	return sels
}

// role guesses what a typed field is from its selectors.
func (c *recConv) role(sels []string, value string) string {
	all := strings.ToLower(strings.Join(sels, " "))
	switch {
	case passHintRE.MatchString(all):
		c.passwords++
		switch {
		case curHintRE.MatchString(all):
			return "password"
		case newHintRE.MatchString(all):
			return "new_password"
		case c.passwords >= 2:
			return "new_password"
		}
		return "password"
	case totpField(all) || (len(value) >= 6 && len(value) <= 8 && strings.Trim(value, "0123456789") == ""):
		return "totp"
	case userHintRE.MatchString(all):
		return "username"
	}
	return ""
}

func (c *recConv) add(s recStepOut) { c.out = append(c.out, s) }

func (c *recConv) step(n int, s recStep) {
	switch s.Type {
	case "setViewport":
		if s.Width > 0 && s.Height > 0 {
			c.d.viewport = [2]int{s.Width, s.Height}
		}
	case "navigate":
		c.navigate(n, s)
	case "click", "doubleClick":
		sels := c.selectors(n, s.Selectors)
		if len(sels) == 0 {
			c.note(n, true, "%s without a usable selector: not imported", s.Type)
			return
		}
		if s.Type == "doubleClick" {
			c.note(n, false, "double click imported as a click")
		}
		c.add(recStepOut{step: step{kind: "click", arg: target(sels), line: n}, submit: true, index: n})
		c.passwords = 0
	case "change":
		c.change(n, s)
	case "keyDown":
		k := s.Key
		if k == "Enter" {
			c.passwords = 0
		}
		if len([]rune(k)) == 1 {
			// Typing shows up as change steps; single keys are noise.
			return
		}
		c.add(recStepOut{step: step{kind: "press", arg: k, line: n}, submit: k == "Enter", index: n})
	case "keyUp":
		// The keyDown made the key press.
	case "waitForElement":
		c.waitForElement(n, s)
	case "waitForExpression":
		c.note(n, false, "waitForExpression imported as an eval step that polls the expression for up to 10 s")
		c.add(recStepOut{step: step{kind: "eval", line: n, arg: "return new Promise((ok, fail) => { const t0 = Date.now(); const f = () => { let v = false; try { v = (" +
			s.Expression + "); } catch (e) {} if (v) ok(true); else if (Date.now() - t0 > 10000) fail(new Error('expression never became true')); else setTimeout(f, 100); }; f(); });"}, index: n})
	case "scroll", "hover":
		c.note(n, false, "%s: not needed by rotator (it scrolls to what it clicks); left out", s.Type)
	case "close", "emulateNetworkConditions", "customStep":
		c.note(n, true, "%s: not supported; left out", s.Type)
	default:
		c.note(n, true, "unknown step type %q: left out", s.Type)
	}
}

// navigate maps a navigate step to a goto; the first one sets the base URL,
// and URLs under it become paths.
func (c *recConv) navigate(n int, s recStep) {
	u, err := weburl.Parse(s.URL)
	if err != nil {
		c.note(n, true, "navigate to %q: not an http or https URL; not imported", s.URL)
		return
	}
	target := s.URL
	if c.d.baseURL == "" {
		c.d.baseURL = u.Scheme + "://" + u.Host + "/"
	}
	if strings.HasPrefix(s.URL, c.d.baseURL) {
		target = "/" + strings.TrimPrefix(s.URL, c.d.baseURL)
	}
	c.add(recStepOut{step: step{kind: "goto", arg: target, line: n}, index: n})
}

// change maps typing into a field to a fill (or totp) step whose value is
// the variable the field's role says, never the typed value of a
// credential.
func (c *recConv) change(n int, s recStep) {
	sels := c.selectors(n, s.Selectors)
	if len(sels) == 0 {
		c.note(n, true, "change without a usable selector: not imported")
		return
	}
	role := c.role(sels, s.Value)
	st := recStepOut{role: role, index: n}
	switch role {
	case "totp":
		st.step = step{kind: "totp", arg: target(sels), line: n}
		c.note(n, true, "%s: typed value replaced by a fresh TOTP code; check this is the one-time-code field", sels[0])
	case "":
		// Not a credential by its looks: the recorded value is kept (a
		// select, a search box), unless it looks like a secret.
		if looksSecret(s.Value) {
			st.step = step{kind: "fill", arg: target(sels), line: n, extra: [][2]any{{"value", "{{ password }}"}}}
			c.note(n, true, "%s: the typed value looks like a password and was not copied: the field got {{ password }}; change it to {{ new_password }} if it takes the new one", sels[0])
			break
		}
		st.step = step{kind: "fill", arg: target(sels), line: n, extra: [][2]any{{"value", s.Value}}}
		c.note(n, true, "%s: not recognised as a username, password or code field: the recorded value %q is kept; replace it with {{ username }}, {{ password }}, {{ new_password }} or {{ totp }} if it is one", sels[0], s.Value)
	default:
		st.step = step{kind: "fill", arg: target(sels), line: n, extra: [][2]any{{"value", "{{ " + role + " }}"}}}
		c.note(n, true, "%s: typed value replaced by {{ %s }}; check it", sels[0], role)
	}
	c.add(st)
}

// waitForElement maps to a wait_for the first selector becoming visible,
// or hidden when the step waits for it to go.
func (c *recConv) waitForElement(n int, s recStep) {
	sels := c.selectors(n, s.Selectors)
	if len(sels) == 0 {
		c.note(n, true, "waitForElement without a usable selector: not imported")
		return
	}
	cond := "visible"
	if s.Visible != nil && !*s.Visible {
		cond = "hidden"
	}
	if s.Count != nil && *s.Count == 0 {
		cond = "hidden"
	}
	c.add(recStepOut{step: step{kind: "wait_for", condKey: cond, condVal: sels[0], line: n}, index: n})
	if len(sels) > 1 {
		c.note(n, false, "waitForElement: waits for the first selector %s only", sels[0])
	}
}

// split cuts the recording into login (through the submit after the
// first password), change (through the submit after the new password) and
// logout (the rest); verify is rotator's default (logout, then login).
func (c *recConv) split() error {
	s := c.out
	firstPass, firstNew := -1, -1
	for i, st := range s {
		if st.role == "password" && firstPass < 0 {
			firstPass = i
		}
		if st.role == "new_password" {
			firstNew = i
			break
		}
	}
	if firstPass < 0 {
		return errors.New("the recording types no password: record signing in, changing the password and signing out")
	}
	if firstNew < 0 {
		return errors.New("the recording types no new password: record the change too (a field named new, confirm or the second password field of a form)")
	}
	// Login ends at the last submit before the change form begins: after
	// the password, and after a TOTP code if one follows.
	loginEnd := -1
	for i := firstPass + 1; i < firstNew; i++ {
		if s[i].submit {
			loginEnd = i
			// A second factor page: its code and submit are the login's.
			if j := nextRole(s, i+1, firstNew, "totp"); j >= 0 {
				continue
			}
			break
		}
	}
	if loginEnd < 0 {
		return errors.New("no click or Enter submits the sign-in before the change form")
	}
	for loginEnd+1 < firstNew && s[loginEnd+1].kind == "wait_for" {
		loginEnd++
	}
	// If the change form's current password was mistaken for the login's
	// (no submit in between), the first password in the change segment
	// is the current one: {{ password }} is right for both.
	changeEnd := len(s) - 1
	for i := firstNew + 1; i < len(s); i++ {
		if s[i].submit {
			changeEnd = i
			break
		}
	}
	for changeEnd+1 < len(s) && (s[changeEnd+1].kind == "wait_for" || s[changeEnd+1].kind == "eval") {
		changeEnd++
	}
	login, change, logout := s[:loginEnd+1], s[loginEnd+1:changeEnd+1], s[changeEnd+1:]
	c.d.flows[templates.FlowLogin] = recSteps(login)
	c.d.flows[templates.FlowChange] = recSteps(change)
	if len(logout) == 0 {
		c.note(0, true, "the recording ends after the change: record signing out too, or write the logout flow by hand; until then the template has a logout flow that stops with this message")
		c.d.flows[templates.FlowLogout] = []step{{kind: "expect", condKey: "exists", condVal: noLogoutSelector,
			extra: [][2]any{{"message", "this imported template has no logout flow yet: record signing out, or write it by hand"}}}}
	} else {
		c.d.flows[templates.FlowLogout] = recSteps(logout)
	}
	return nil
}

func nextRole(s []recStepOut, from, to int, role string) int {
	for i := from; i < to; i++ {
		if s[i].role == role {
			return i
		}
		if s[i].submit {
			return -1
		}
	}
	return -1
}

func recSteps(in []recStepOut) []step {
	out := make([]step, len(in))
	for i, s := range in {
		out[i] = s.step
	}
	return out
}

// looksSecret: 8 or more characters mixing three classes of letters,
// digits and symbols, and no spaces: a password more than a search term.
func looksSecret(v string) bool {
	if len(v) < 8 || strings.ContainsAny(v, " \t") {
		return false
	}
	var lower, upper, digit, other int
	for _, r := range v {
		switch {
		case r >= 'a' && r <= 'z':
			lower = 1
		case r >= 'A' && r <= 'Z':
			upper = 1
		case r >= '0' && r <= '9':
			digit = 1
		default:
			other = 1
		}
	}
	return lower+upper+digit+other >= 3
}
