package importer

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/rotator-pam/rotator/internal/weburl"
	"github.com/rotator-pam/rotator/templates"
)

// A senhasegura execution template is a list of lines, one command each:
//
//	start-at URL           user-agent UA          timeout MS
//	new-action             (starts an action: a group of commands)
//	test-location TEXT     test-selector SEL      test-not-visible SEL
//	log TEXT               fill SEL VALUE         really-fill SEL VALUE
//	click SEL              jclick SEL             set-location URL
//	sleep MS               prop SEL NAME VALUE    jscript CODE
//
// or, in senhasegura's HTTP dialect, which posts forms without a browser:
//
//	get URL                fill-form NAME VALUE   select-button NAME
//	submit                 expect TEXT
//
// with placeholders [#USERNAME#], [#CURRENT_PASSWORD#], [#NEW_PASSWORD#] and
// installation values such as [#IP#] and [#HOSTNAME#]. It is one sequence:
// sign in, go to the password page, change, and sometimes sign out and in
// again with the new password. Segura splits it into rotator's flows.

// segStep is one source command, mapped.
type segStep struct {
	step
	cmd string
	// what the command touches, for splitting the sequence into flows
	fillsUser, fillsCurrent, fillsNew bool
	action                            int // index of its new-action group
}

func (s segStep) isSubmit() bool { return s.kind == "click" || s.kind == "press" }
func (s segStep) isCheck() bool {
	return s.kind == "expect" || s.kind == "wait_for" || s.kind == "log" || s.kind == "sleep"
}

// Segura converts a senhasegura execution template.
func Segura(name string, src []byte) (*Result, error) {
	c := &segConv{d: &doc{name: safeName(name), params: map[string]string{}, flows: map[string][]step{}}}
	c.parse(string(src))
	if c.err != nil {
		return nil, c.err
	}
	if err := c.split(); err != nil {
		return nil, err
	}
	return c.d.result(c.notes)
}

type segConv struct {
	d     *doc
	steps []segStep
	notes []Note
	start string
	// origin is start-at's scheme and host as written (placeholders
	// kept): URLs on it become relative to base_url, which the
	// account's --url replaces.
	origin  string
	action  int
	pending []string // source comments waiting for the next step
	// HTTP dialect: the field filled last (its form is what submit
	// sends) and the button select-button chose for the next submit.
	lastField, button string
	err               error
	sawSleep          bool
}

func (c *segConv) note(line int, warn bool, format string, args ...any) {
	c.notes = append(c.notes, Note{Line: line, Warning: warn, Msg: fmt.Sprintf(format, args...)})
}

// splitArg takes the first argument (a selector: brackets, parentheses and
// quotes may hold spaces) off the rest of the line.
func splitArg(s string) (string, string) {
	s = strings.TrimSpace(s)
	depth := 0
	var quote rune
	for i, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			}
		case r == '"' || r == '\'':
			quote = r
		case r == '[' || r == '(':
			depth++
		case r == ']' || r == ')':
			depth--
		case (r == ' ' || r == '\t') && depth <= 0:
			return s[:i], strings.TrimSpace(s[i+1:])
		}
	}
	return s, ""
}

// value maps a value with placeholders to rotator's {{ }} syntax.
func (c *segConv) value(line int, v string) (string, bool, bool, bool) {
	var user, cur, nw bool
	out := replacePlaceholders(v, func(p string) string {
		switch strings.ToUpper(p) {
		case "USERNAME":
			user = true
			return "{{ username }}"
		case "CURRENT_PASSWORD":
			cur = true
			return "{{ password }}"
		case "NEW_PASSWORD":
			nw = true
			return "{{ new_password }}"
		default:
			pn := strings.ToLower(p)
			if _, ok := c.d.params[pn]; !ok {
				c.d.params[pn] = fmt.Sprintf("senhasegura's [#%s#]; set its default for your installation", p)
				c.note(line, true, "[#%s#] became the template parameter {{ param.%s }}: set params.%s.default to its value", p, pn, pn)
			}
			return "{{ param." + pn + " }}"
		}
	})
	return out, user, cur, nw
}

// selector maps a senhasegura (jQuery) selector: :contains("x") loses its
// quotes; jQuery-only pseudo-classes are reported.
func (c *segConv) selector(line int, sel string) string {
	sel = strings.TrimSpace(sel)
	// senhasegura's authors sometimes quote a whole selector, even twice
	// ('"div input"'): the quotes are not part of it.
	for len(sel) >= 2 && (sel[0] == '"' || sel[0] == '\'') && sel[len(sel)-1] == sel[0] {
		c.note(line, false, "the quotes around the selector %s are not part of it: removed", sel)
		sel = strings.TrimSpace(sel[1 : len(sel)-1])
	}
	for {
		rest, cut := cutJQueryPseudo(sel)
		if cut == "" {
			break
		}
		c.note(line, true, "the jQuery pseudo-class %s in %q has no CSS equivalent: dropped; check that the selector still finds the one element meant", cut, sel)
		sel = rest
	}
	if _, err := templates.ParseAlternative(sel); err != nil {
		c.note(line, true, "selector %q: %v; kept as written, fix it before use", sel, err)
	}
	return sel
}

func (c *segConv) add(s segStep) {
	if len(c.pending) > 0 {
		s.comment = strings.Join(c.pending, "\n")
		c.pending = nil
	}
	s.action = c.action
	c.steps = append(c.steps, s)
}

// parse maps the source line by line.
func (c *segConv) parse(src string) {
	for i, raw := range strings.Split(src, "\n") {
		line := i + 1
		text := strings.TrimSpace(raw)
		switch {
		case text == "":
		case strings.HasPrefix(text, "#"):
			c.comment(line, strings.TrimSpace(strings.TrimPrefix(text, "#")))
		default:
			c.command(line, text)
		}
	}
}

// comment keeps a source comment for the next step; a commented-out
// command is also noted.
func (c *segConv) comment(line int, body string) {
	cmd, _ := splitArg(body)
	if isSeguraCommand(cmd) {
		c.note(line, false, "commented out in the source (%s): kept as a comment, not imported", body)
		c.pending = append(c.pending, "senhasegura line "+strconv.Itoa(line)+", commented out: "+body)
	} else if body != "" {
		c.pending = append(c.pending, body)
	}
}

// expect maps a test-* command: an expect step on condKey of its
// selector, whose message (msg, with the selector for %s) names the line.
func (c *segConv) expect(line int, cmd, rest, condKey, msg string) {
	sel := c.selector(line, rest)
	c.add(segStep{step: step{kind: "expect", condKey: condKey, condVal: sel, line: line,
		extra: [][2]any{{"message", fmt.Sprintf(msg+" (senhasegura line %d)", sel, line)}}}, cmd: cmd})
}

// command maps one command line.
func (c *segConv) command(line int, text string) {
	cmd, rest := splitArg(text)
	switch cmd {
	case "start-at":
		c.startAt(line, rest)
	case "user-agent":
		c.userAgent(line, rest)
	case "timeout":
		c.timeout(line, rest)
	case "new-action":
		c.action++
	case "test-location":
		c.testLocation(line, rest)
	case "test-selector":
		c.expect(line, cmd, rest, "exists", "no %s on the page")
	case "test-not-visible":
		c.expect(line, cmd, rest, "hidden", "%s is visible")
	case "log":
		c.log(line, rest)
	case "fill", "really-fill":
		c.fill(line, cmd, rest)
	case "click", "jclick":
		s := segStep{step: step{kind: "click", arg: c.selector(line, rest), line: line}, cmd: cmd}
		if cmd == "jclick" {
			s.extra = [][2]any{{"js", true}}
		}
		c.add(s)
	case "set-location":
		c.setLocation(line, rest)
	case "sleep":
		c.sleep(line, rest)
	case "prop":
		c.prop(line, rest)
	case "jscript":
		c.jscript(line, strings.TrimSpace(rest))
	case "get":
		c.get(line, rest)
	case "fill-form":
		c.fillForm(line, rest)
	case "select-button":
		c.button = strings.Trim(strings.TrimSpace(rest), `"'`)
		if c.button == "" {
			c.note(line, true, "select-button names no button: the next submit clicks the form's own")
		}
	case "submit":
		c.submit(line)
	case "expect":
		c.expectText(line, rest)
	default:
		c.note(line, true, "unknown command %q: not imported; write the step by hand (see the README's template reference)", cmd)
		c.pending = append(c.pending, fmt.Sprintf("senhasegura line %d, not imported: %s", line, text))
	}
}

func (c *segConv) userAgent(line int, rest string) {
	ua := strings.Trim(strings.TrimSpace(rest), `"'`)
	if !strings.Contains(ua, "/") {
		c.note(line, true, "user-agent %q is not a user agent string: dropped, Chromium's own is used; set user_agent if the site needs one", ua)
		return
	}
	c.d.userAgent = ua
}

// timeout sets the step timeout, kept between 5s and 5m.
func (c *segConv) timeout(line int, rest string) {
	ms, err := strconv.Atoi(strings.TrimSpace(rest))
	if err != nil || ms <= 0 {
		c.note(line, true, "timeout %q is not a number of milliseconds: ignored; the defaults apply", rest)
		return
	}
	d := time.Duration(ms) * time.Millisecond
	if d > 5*time.Minute {
		c.note(line, false, "timeout %v is longer than a step needs: each step gets 5m", d)
		d = 5 * time.Minute
	}
	if d < 5*time.Second {
		c.note(line, false, "timeout %v is short for a page to load: each step gets 5s", d)
		d = 5 * time.Second
	}
	c.d.stepTimeout = d.String()
	if d > 3*time.Minute {
		c.d.runTimeout = (2 * d).String()
	}
}

func (c *segConv) testLocation(line int, rest string) {
	// A bare host name of start-at's site ("facebook.com") only checks
	// that the page is on the site, whose host the account's --url
	// decides: with another --url it could only fail.
	if raw := strings.TrimSpace(rest); raw != "" && !strings.ContainsAny(raw, "/?#[") && c.origin != "" &&
		strings.Contains(strings.ToLower(c.origin[strings.Index(c.origin, "://")+3:]), strings.ToLower(raw)) {
		c.note(line, false, "test-location %s checks only that the page is on the site's host, which the account's --url decides: not imported", raw)
		return
	}
	// The page's address on start-at's site is checked by its path:
	// the host is the account's --url.
	v, _ := c.relative(strings.TrimSpace(rest))
	if hasPlaceholder(v) {
		if u, err := url.Parse(standIn(v)); err == nil && u.Host != "" {
			c.note(line, false, "test-location %s holds an installation value: only its path %s is checked", v, u.RequestURI())
			v = u.RequestURI()
		}
	}
	c.add(segStep{step: step{kind: "expect", condKey: "url", condVal: v, line: line,
		extra: [][2]any{{"message", fmt.Sprintf("the page is not at %s (senhasegura line %d)", v, line)}}}, cmd: "test-location"})
}

// log keeps a log message, never a password in it.
func (c *segConv) log(line int, rest string) {
	msg, _, cur, nw := c.value(line, rest)
	if cur || nw {
		c.note(line, true, "the log message names a password: the password was left out of it")
		msg = strings.NewReplacer("{{ password }}", "", "{{ new_password }}", "").Replace(msg)
	}
	if strings.TrimSpace(msg) == "" {
		return
	}
	c.add(segStep{step: step{kind: "log", arg: msg, line: line}, cmd: "log"})
}

// fill maps fill and really-fill (which types key by key).
func (c *segConv) fill(line int, cmd, rest string) {
	selRaw, val := splitArg(rest)
	sel := c.selector(line, selRaw)
	v, user, cur, nw := c.value(line, val)
	s := segStep{step: step{kind: "fill", arg: sel, line: line, extra: [][2]any{{"value", v}}}, cmd: cmd,
		fillsUser: user, fillsCurrent: cur, fillsNew: nw}
	if cmd == "really-fill" {
		s.extra = append(s.extra, [2]any{"keys", true})
	}
	c.add(s)
}

// setLocation maps set-location to a goto of an http or https URL that
// holds no password.
func (c *segConv) setLocation(line int, rest string) {
	// A URL on start-at's site becomes a path, before its placeholders
	// become parameters: the host is the account's --url.
	rel, _ := c.relative(strings.TrimSpace(rest))
	v, _, cur, nw := c.value(line, rel)
	if cur || nw {
		c.note(line, true, "set-location puts a password in a URL: not imported; rotator never sends a secret in a URL")
		return
	}
	if u, err := url.Parse(standIn(v)); err == nil && u.IsAbs() && u.Scheme != "http" && u.Scheme != "https" {
		c.note(line, true, "set-location %s: rotator opens http and https URLs only; not imported", v)
		return
	}
	c.add(segStep{step: step{kind: "goto", arg: v, line: line}, cmd: "set-location"})
}

// sleep maps sleep MS; values under 100 are read as seconds.
func (c *segConv) sleep(line int, rest string) {
	n, err := strconv.Atoi(strings.TrimSpace(rest))
	if err != nil || n < 0 {
		c.note(line, true, "sleep %q is not a number: ignored", rest)
		return
	}
	d := time.Duration(n) * time.Millisecond
	if n < 100 {
		d = time.Duration(n) * time.Second
		c.note(line, false, "sleep %d read as %v (values under 100 are taken as seconds, as the template's author surely meant)", n, d)
	}
	st := segStep{step: step{kind: "sleep", arg: d.String(), line: line}, cmd: "sleep"}
	if !c.sawSleep {
		st.comment = "senhasegura waits fixed times; rotator already waits for pages to settle after clicks: prefer wait_for"
		c.sawSleep = true
	}
	c.add(st)
}

// prop maps prop SEL NAME VALUE; a password is typed, never set as a
// property.
func (c *segConv) prop(line int, rest string) {
	selRaw, r2 := splitArg(rest)
	name, val := splitArg(r2)
	if name == "" {
		c.note(line, true, "prop needs a selector, a property and a value: not imported")
		return
	}
	v, user, cur, nw := c.value(line, val)
	switch {
	case (cur || nw) && name == "value":
		// A secret is typed, where the engine checks the field's
		// origin, never set by a script.
		c.note(line, false, "prop %s value with a password read as filling %s", selRaw, selRaw)
		c.add(segStep{step: step{kind: "fill", arg: c.selector(line, selRaw), line: line, extra: [][2]any{{"value", v}}}, cmd: "prop",
			fillsUser: user, fillsCurrent: cur, fillsNew: nw})
	case cur || nw:
		c.note(line, true, "prop %s %s puts a password in a DOM property: not imported; rotator only types secrets into fields", selRaw, name)
	default:
		c.add(segStep{step: step{kind: "prop", arg: c.selector(line, selRaw), line: line,
			extra: [][2]any{{"property", name}, {"value", v}}}, cmd: "prop"})
	}
}

// get maps the HTTP dialect's GET: the first one, when there is no
// start-at, is where the template begins (base_url and a relative goto);
// the others are set-location.
func (c *segConv) get(line int, rest string) {
	if c.start == "" {
		c.startAt(line, rest)
		if c.err == nil {
			c.steps[len(c.steps)-1].cmd = "get"
		}
		return
	}
	c.setLocation(line, rest)
}

// fillForm maps fill-form NAME VALUE: a fill of the form field named NAME.
func (c *segConv) fillForm(line int, rest string) {
	name, val := splitArg(rest)
	name = strings.Trim(name, `"'`)
	if name == "" {
		c.note(line, true, "fill-form needs a field name and a value: not imported")
		return
	}
	c.lastField = name
	v, user, cur, nw := c.value(line, val)
	c.add(segStep{step: step{kind: "fill", arg: "[name=" + cssString(name) + "]", line: line, extra: [][2]any{{"value", v}}},
		cmd: "fill-form", fillsUser: user, fillsCurrent: cur, fillsNew: nw})
}

// submit maps the HTTP dialect's submit: a click on the button
// select-button chose (by its name, value or text), else on the submit
// button of the form whose field was filled last.
func (c *segConv) submit(line int) {
	var alts []string
	if b := c.button; b != "" {
		q := cssString(b)
		alts = []string{"[type=submit][name=" + q + "]", "[type=submit][value=" + q + "]", "button:contains(" + b + ")"}
		c.button = ""
	} else if c.lastField != "" {
		alts = []string{"form:has([name=" + cssString(c.lastField) + "]) [type=submit]", "[type=submit]"}
	} else {
		alts = []string{"[type=submit]"}
	}
	c.add(segStep{step: step{kind: "click", arg: alts, line: line}, cmd: "submit"})
}

// expectText maps the HTTP dialect's expect TEXT: the page shows TEXT.
func (c *segConv) expectText(line int, rest string) {
	text := strings.Trim(strings.TrimSpace(rest), `"'`)
	if text == "" {
		c.note(line, true, "expect names no text: not imported")
		return
	}
	if hasPlaceholder(text) {
		c.note(line, true, "expect %s holds a placeholder: not imported; a page's text is checked for fixed words only", text)
		return
	}
	c.add(segStep{step: step{kind: "expect", condKey: "text", condVal: text, line: line,
		extra: [][2]any{{"message", fmt.Sprintf("the page does not say %q (senhasegura line %d)", text, line)}}}, cmd: "expect"})
}

// cssString quotes s as a CSS string.
func cssString(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

func isSeguraCommand(cmd string) bool {
	switch cmd {
	case "start-at", "user-agent", "timeout", "new-action", "test-location", "test-selector", "test-not-visible", "log",
		"fill", "really-fill", "click", "jclick", "set-location", "sleep", "prop", "jscript",
		"get", "fill-form", "select-button", "submit", "expect":
		return true
	}
	return false
}

func (c *segConv) startAt(line int, raw string) {
	v := strings.TrimSpace(raw)
	c.start = v
	// base_url is static: an installation value stands for a host the
	// account's --url supplies.
	u, err := weburl.Parse(standIn(v))
	if err != nil {
		c.err = fmt.Errorf("line %d: start-at %q is not an absolute http or https URL", line, v)
		return
	}
	c.origin = rawOrigin(v)
	if hasPlaceholder(c.origin) {
		c.note(line, true, "start-at %s depends on the installation: base_url is the placeholder %s://%s/; give each account --url with the real address", v, u.Scheme, u.Host)
	}
	c.d.baseURL = u.Scheme + "://" + u.Host + "/"
	rel, _ := c.relative(v)
	gv, _, _, _ := c.value(line, rel)
	c.add(segStep{step: step{kind: "goto", arg: gv, line: line}, cmd: "start-at"})
}

// rawOrigin is an absolute URL's scheme and host as written, placeholders
// and all ("https://[#IP#]:8443"), or "" when v has no "://".
func rawOrigin(v string) string {
	i := strings.Index(v, "://")
	if i < 0 {
		return ""
	}
	for j := i + 3; j < len(v); j++ {
		if strings.HasPrefix(v[j:], "[#") { // a placeholder: [#IP#]
			if k := strings.Index(v[j+2:], "#]"); k >= 0 {
				j += 2 + k + 1
				continue
			}
		}
		if strings.ContainsRune("/?#", rune(v[j])) {
			return v[:j]
		}
	}
	return v
}

// relative turns a URL on start-at's origin into a path relative to
// base_url, so that the account's --url decides the host; any other URL
// is kept as it is (ok false).
func (c *segConv) relative(v string) (string, bool) {
	o := rawOrigin(v)
	if c.origin == "" || o == "" || !strings.EqualFold(o, c.origin) {
		return v, false
	}
	rest := v[len(o):]
	if !strings.HasPrefix(rest, "/") {
		rest = "/" + rest
	}
	return rest, true
}

func (c *segConv) jscript(line int, code string) {
	sel, call, ok := jqCall(code)
	val, isVal := jqVal(call)
	switch {
	case ok && call == ".click()":
		c.note(line, false, "jscript %s read as a JavaScript click on %s", code, sel)
		c.add(segStep{step: step{kind: "click", arg: c.selector(line, sel), line: line, extra: [][2]any{{"js", true}}}, cmd: "jscript"})
	case ok && isVal:
		v, user, cur, nw := c.value(line, val)
		if cur || nw {
			// A secret is typed, where the engine checks the field's
			// origin, never set by a script.
			c.note(line, false, "jscript %s read as filling %s", code, sel)
			c.add(segStep{step: step{kind: "fill", arg: c.selector(line, sel), line: line, extra: [][2]any{{"value", v}}}, cmd: "jscript",
				fillsUser: user, fillsCurrent: cur, fillsNew: nw})
			return
		}
		c.note(line, false, "jscript %s read as setting the value of %s", code, sel)
		c.add(segStep{step: step{kind: "prop", arg: c.selector(line, sel), line: line, extra: [][2]any{{"property", "value"}, {"value", v}}}, cmd: "jscript"})
	case ok && call == "":
		c.note(line, true, "jscript %s only selects: in senhasegura it checks nothing; imported as a check that %s exists, which is surely what was meant", code, sel)
		sel := c.selector(line, sel)
		c.add(segStep{step: step{kind: "expect", condKey: "exists", condVal: sel, line: line,
			extra: [][2]any{{"message", fmt.Sprintf("no %s on the page (senhasegura line %d)", sel, line)}}}, cmd: "jscript"})
	default:
		if hasPlaceholder(code) {
			c.note(line, true, "jscript uses a placeholder: rotator never puts secrets in scripts; not imported, write the step by hand")
			c.pending = append(c.pending, fmt.Sprintf("senhasegura line %d, not imported: jscript %s", line, code))
			return
		}
		msg := "jscript imported as an eval step"
		if strings.Contains(code, "$(") {
			msg += "; it uses jQuery ($), which the page may not have: rewrite it with document.querySelector"
		}
		c.note(line, true, "%s", msg)
		c.add(segStep{step: step{kind: "eval", arg: code, line: line}, cmd: "jscript"})
	}
}

// standIn puts a host name where installation values are, to read the
// rest of a URL.
func standIn(v string) string {
	return replacePlaceholders(v, func(string) string { return "host.invalid" })
}

// split cuts the one sequence into flows: login (through the first
// sign-in's submit and its checks), change (through the new password's
// submit and its checks), and logout (what the source does before signing
// in again). There is no verify flow: rotator's own (logout, then login
// with the new password) is used, never a re-check of the site's
// confirmation nor the source's own second sign-in (see signInAgain).
func (c *segConv) split() error {
	if c.start == "" {
		return errors.New("no start-at line (or get, in the HTTP dialect): the template does not say where to begin")
	}
	s := c.steps
	firstCur, firstNew := -1, -1
	for i, st := range s {
		if st.fillsCurrent && firstCur < 0 {
			firstCur = i
		}
		if st.fillsNew && !st.fillsUser {
			firstNew = i
			break
		}
	}
	if firstNew < 0 {
		return errors.New("no step fills [#NEW_PASSWORD#]: this is not a password-change template")
	}
	if firstCur < 0 || firstCur > firstNew {
		return errors.New("no sign-in ([#CURRENT_PASSWORD#] filled before [#NEW_PASSWORD#]): rotator needs a login flow; add one by hand")
	}
	end := c.loginEnd(firstCur, firstNew)
	cend := c.changeEnd(firstNew)
	login, change, rest := s[:end+1], s[end+1:cend+1], s[cend+1:]
	logout, again := c.signInAgain(rest)
	if again < 0 && len(rest) > 0 {
		change = append(change, rest...)
	}
	if len(logout) == 0 {
		logout = c.placeholderLogout(again >= 0)
	}
	c.d.flows[templates.FlowLogin] = steps(login)
	c.d.flows[templates.FlowChange] = steps(change)
	if len(logout) > 0 {
		c.d.flows[templates.FlowLogout] = steps(logout)
	}
	if len(change) == 0 {
		return errors.New("the change flow came out empty")
	}
	for _, st := range login {
		if st.fillsNew {
			c.note(st.line, true, "the sign-in fills the new password")
		}
	}
	c.d.description = "Imported from a senhasegura execution template; check the import notes, then run `rotator template test`."
	c.d.headComment = "Imported by `rotator template import --from segura`. Every source line is\nmapped below or reported in the import notes; run\n  rotator template test " + c.d.name + ".yaml --account NAME\nbefore relying on it."
	return nil
}

// loginEnd is the index of the login flow's last step: the first submit
// after the sign-in's password (firstCur), and the checks right after it.
func (c *segConv) loginEnd(firstCur, firstNew int) int {
	s := c.steps
	end := -1
	for i := firstCur + 1; i < firstNew; i++ {
		if c.submitsForm(i) {
			end = i
			break
		}
	}
	if end < 0 {
		end = firstCur
		c.note(s[firstCur].line, true, "no click submits the sign-in form: add a click or a press: Enter after this fill")
	}
	for end+1 < firstNew && s[end+1].isCheck() {
		end++
	}
	return end
}

// submitsForm tells whether step i can be a form's submit: a click or a
// press that is not followed, in its action and before the next click, by
// setting a field that takes none of the template's values (an
// organisation, a domain). Such a click opens a drop-down or reveals a
// field: it is part of filling the form in, not its submit.
func (c *segConv) submitsForm(i int) bool {
	s := c.steps
	if !s[i].isSubmit() {
		return false
	}
	for j := i + 1; j < len(s) && s[j].action == s[i].action && !s[j].isSubmit(); j++ {
		if (s[j].kind == "fill" || s[j].kind == "prop") && !s[j].fillsUser && !s[j].fillsCurrent && !s[j].fillsNew {
			return false
		}
	}
	return true
}

// changeEnd is the index of the change flow's last step: the submit after
// the last new-password fill of the form, and the checks after it.
func (c *segConv) changeEnd(firstNew int) int {
	s := c.steps
	lastNew := firstNew
	for i := firstNew + 1; i < len(s) && (s[i].fillsNew || s[i].kind == "fill" || s[i].kind == "prop" || s[i].kind == "log") && !s[i].fillsUser; i++ {
		if s[i].fillsNew {
			lastNew = i
		}
	}
	cend := len(s) - 1
	for i := lastNew + 1; i < len(s); i++ {
		if c.submitsForm(i) {
			cend = i
			break
		}
	}
	for cend+1 < len(s) && s[cend+1].isCheck() {
		cend++
	}
	return cend
}

// signInAgain splits what follows the change at the source's signing in
// again with the new password (from the start of the action that fills
// the username; again is its index in rest, -1 if there is none): logout
// is what comes before. The sign-in itself is not imported as a verify
// flow: rotator's own verify, the logout flow and then the login flow with
// the new password, signs in exactly as the first sign-in did, where the
// source's second one often checks pages of its own (several URLs at
// once, a confirmation) that a good sign-in does not pass.
func (c *segConv) signInAgain(rest []segStep) (logout []segStep, again int) {
	again = -1
	for i, st := range rest {
		if st.fillsUser {
			again = i
			for again > 0 && rest[again-1].action == st.action {
				again--
			}
			break
		}
	}
	if again < 0 {
		return nil, -1
	}
	from, to := rest[again].line, rest[len(rest)-1].line
	c.note(from, false, "the source signs in again with the new password (lines %d-%d): rotator's own verify does that, by running the logout flow and then the login flow with the new password, so these lines are not imported", from, to)
	return rest[:again], again
}

// placeholderLogout is the logout flow when the source has none to give:
// it stops the rotation with a message until a person writes it.
// signsInAgain tells whether the source signs in again (without signing
// out).
func (c *segConv) placeholderLogout(signsInAgain bool) []segStep {
	why := "the source does not sign out and in again with the new password, and a confirmation message does not show that it works: no verify flow was made, and"
	if signsInAgain {
		why = "the source does not sign out before signing in again:"
	}
	c.note(0, true, "%s the logout flow is a placeholder that stops the rotation with a message; write the logout flow, so rotator can sign out and in with the new password", why)
	return []segStep{{step: step{kind: "expect", condKey: "exists", condVal: noLogoutSelector,
		extra:   [][2]any{{"message", "this imported template has no logout flow yet: write it by hand, so the new password can be checked by signing in"}},
		comment: "senhasegura's template checks the change by the site's confirmation only: rotator checks it by signing out and in with the new password"}}}
}

func steps(in []segStep) []step {
	out := make([]step, len(in))
	for i, s := range in {
		out[i] = s.step
	}
	return out
}
