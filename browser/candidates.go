package browser

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-rod/rod"

	"github.com/rotator-pam/rotator/templates"
)

// Candidate is an element on the page that looks like what a failed step
// wanted, with a selector ready to paste into the template.
type Candidate struct {
	Selector string
	Why      string
	Score    int
}

// controlsJS lists the visible form controls, buttons and links with what
// identifies them, and a unique selector for each: also those inside open
// shadow roots and same-origin frames, with a "host >>> inner" selector
// that reaches them (each part unique where it is looked for). Frames are
// entered through contentDocument here: a candidate is only a suggestion,
// and the engine checks a frame's origin by the browser's frame tree when
// it follows the selector.
const controlsJS = `() => {
	const vis = e => { const r = e.getBoundingClientRect(); const s = e.ownerDocument.defaultView.getComputedStyle(e);
		return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const ident = s => /^[A-Za-z][A-Za-z0-9_-]*$/.test(s);
	const out = [];
	const control = (e, unique, prefix) => {
		if (e.type === "hidden" || !vis(e)) return;
		const tag = e.tagName.toLowerCase();
		// An input's value is its text only for buttons: in a field it is
		// what was typed, a password too.
		const button = tag === "input" && ["submit", "button", "reset", "image"].includes(e.type);
		const text = norm(tag === "input" ? (button ? e.value : "") : e.innerText).slice(0, 40);
		let label = "";
		if (e.labels && e.labels.length) label = norm(e.labels[0].innerText);
		label = label || norm(e.getAttribute("aria-label"));
		const cls = Array.from(e.classList).filter(c => /^[A-Za-z_-][A-Za-z0-9_-]*$/.test(c));
		let sel = "";
		if (e.id && ident(e.id) && unique("#" + e.id)) sel = "#" + e.id;
		else if (e.name && unique(tag + '[name="' + e.name + '"]')) sel = tag + '[name="' + e.name + '"]';
		else if (cls.length && unique(tag + "." + cls.join("."))) sel = tag + "." + cls.join(".");
		else if ((tag === "button" || tag === "a") && text && !/[()]/.test(text)) sel = tag + ":contains(" + text + ")";
		else if (e.type && unique(tag + '[type="' + e.type + '"]')) sel = tag + '[type="' + e.type + '"]';
		else if (e.form && e.form.id && e.type) sel = "#" + e.form.id + " " + tag + '[type="' + e.type + '"]';
		if (!sel) return;
		out.push({tag, type: (e.type || "").toLowerCase(), id: e.id || "", name: e.getAttribute("name") || "",
			cls: cls.join(" "), label, placeholder: e.getAttribute("placeholder") || "",
			autocomplete: (e.getAttribute("autocomplete") || "").toLowerCase(),
			inputmode: (e.getAttribute("inputmode") || "").toLowerCase(), text, sel: prefix + sel});
	};
	// hostSel is a selector unique in its scope for a shadow host or a frame.
	const hostSel = (h, unique) => {
		const tag = h.localName;
		if (h.id && ident(h.id) && unique("#" + h.id)) return (tag === "iframe" || tag === "frame" ? tag : "") + "#" + h.id;
		if (/^[a-z][a-z0-9-]*$/.test(tag) && unique(tag)) return tag;
		const name = h.getAttribute("name");
		if (name && ident(name) && unique(tag + '[name="' + name + '"]')) return tag + '[name="' + name + '"]';
		return "";
	};
	const inside = h => {
		if (h.shadowRoot) return h.shadowRoot;
		if (h.localName !== "iframe" && h.localName !== "frame") return null;
		try { const d = h.contentDocument; return d && d.defaultView && d.defaultView.origin === self.origin ? d : null; } catch (_) { return null; }
	};
	const visit = (scope, prefix, depth) => {
		const unique = sel => { try { return scope.querySelectorAll(sel).length === 1; } catch (_) { return false; } };
		for (const e of scope.querySelectorAll("input, textarea, select, button, a[href], [role=button]")) control(e, unique, prefix);
		if (depth > 8) return;
		for (const h of scope.querySelectorAll("*")) {
			const root = inside(h), hs = root && hostSel(h, unique);
			if (hs) visit(root, prefix + hs + " >>> ", depth + 1);
		}
	};
	visit(document, "", 0);
	return out;
}`

type control struct {
	Tag, Type, ID, Name, Cls, Label, Placeholder, Autocomplete, Inputmode, Text, Sel string
}

var stopWords = map[string]bool{"input": true, "button": true, "type": true, "name": true, "id": true, "form": true,
	"div": true, "span": true, "submit": false, "text": true, "contains": true, "class": true, "btn": true}

// tokens splits identifiers into lower-case words: "user-login" and
// "userLogin" both give "user", "login".
func tokens(s string) map[string]bool {
	out := map[string]bool{}
	words := strings.FieldsFunc(s, func(r rune) bool { return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') })
	for _, w := range words {
		// split camelCase
		start := 0
		for i := 1; i < len(w); i++ {
			if w[i] >= 'A' && w[i] <= 'Z' && w[i-1] >= 'a' && w[i-1] <= 'z' {
				out[strings.ToLower(w[start:i])] = true
				start = i
			}
		}
		out[strings.ToLower(w[start:])] = true
	}
	for k := range out {
		if stopWords[k] || len(k) < 2 {
			delete(out, k)
		}
	}
	return out
}

// synonyms widen a token to the words sites use for the same field.
var synonyms = map[string][]string{
	"user":     {"login", "email", "account", "username", "identifier"},
	"username": {"user", "login", "email", "account"},
	"login":    {"user", "username", "signin", "log", "sign"},
	"email":    {"user", "login", "mail"},
	"password": {"pass", "pw", "pwd", "secret"},
	"pass":     {"password", "pw", "pwd", "secret"},
	"signin":   {"login", "log", "sign", "submit", "continue", "next"},
	"sign":     {"log", "login", "signin"},
	"totp":     {"otp", "code", "mfa", "verify", "token"},
	"otp":      {"totp", "code", "mfa", "verify", "token"},
	"verify":   {"otp", "code", "confirm", "submit"},
	"save":     {"update", "submit", "change", "confirm"},
	"new":      {"next", "new"},
	"current":  {"old", "existing", "current"},
	"confirm":  {"repeat", "again", "retype", "verify"},
	"logout":   {"log", "out", "signout", "sign"},
}

// detectorRoles are the detector's roles for what a step wanted.
var detectorRoles = map[string][]string{
	"username":         {RoleUsername},
	"current-password": {RolePassword},
	"new-password":     {RoleNewPassword, RoleConfirmPassword},
	"otp":              {RoleTOTP},
	"button":           {RoleSubmit},
}

// candidates lists the page's elements that look like what st wanted: the
// form-field detector's fields of the step's kind first (the same detector
// as `rotator template suggest`), then elements that share words with the
// step's selector.
func candidates(page *rod.Page, st templates.Step) []Candidate {
	var out []Candidate
	seen := map[string]bool{}
	if roles := detectorRoles[stepRole(st)]; len(roles) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		fields, err := detectWith(ctx, page, "")
		cancel()
		if err == nil {
			sort.SliceStable(fields, func(i, j int) bool { return fields[i].Score > fields[j].Score })
			for _, f := range fields {
				if len(f.Selectors) == 0 || !slices.Contains(roles, f.Role) || seen[f.Selectors[0]] {
					continue
				}
				seen[f.Selectors[0]] = true
				desc := f.Tag
				if f.Type != "" && f.Tag == "input" {
					desc += " type=" + f.Type
				}
				out = append(out, Candidate{Selector: f.Selectors[0], Score: 10 + int(f.Score*10),
					Why: fmt.Sprintf("%s; the detector's %s (%.2f: %s)", desc, strings.ReplaceAll(f.Role, "_", " "), f.Score, f.Why)})
			}
		}
	}
	res, err := page.Eval(controlsJS)
	if err != nil {
		return nil
	}
	var controls []control
	if err := res.Value.Unmarshal(&controls); err != nil {
		return nil
	}
	want := tokens(st.Target.String())
	for t := range want {
		for _, s := range synonyms[t] {
			want[s] = true
		}
	}
	role := stepRole(st)
	for _, c := range controls {
		if seen[c.Sel] {
			continue
		}
		score, why := 0, []string{}
		if !compatible(st.Kind, c) {
			continue
		}
		if ok, reason := roleMatch(role, c); ok {
			score += 3
			why = append(why, reason)
		}
		have := tokens(strings.Join([]string{c.ID, c.Name, c.Cls, c.Label, c.Placeholder, c.Text, c.Autocomplete}, " "))
		var shared []string
		for t := range have {
			if want[t] {
				shared = append(shared, t)
			}
		}
		sort.Strings(shared)
		if len(shared) > 0 {
			score += len(shared)
			why = append(why, "shares "+strings.Join(shared, ", "))
		}
		if score == 0 {
			continue
		}
		desc := c.Tag
		if c.Type != "" && c.Tag == "input" {
			desc += " type=" + c.Type
		}
		why = append([]string{desc}, why...)
		out = append(out, Candidate{Selector: c.Sel, Why: strings.Join(why, "; "), Score: score})
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}

// stepRole says what kind of field a step fills.
func stepRole(st templates.Step) string {
	switch st.Kind {
	case templates.StepTOTP:
		return "otp"
	case templates.StepFill:
		for _, v := range st.Value.Vars() {
			switch v {
			case templates.VarUsername:
				return "username"
			case templates.VarPassword:
				return "current-password"
			case templates.VarNewPassword:
				return "new-password"
			case templates.VarTOTP:
				return "otp"
			}
		}
		return "text"
	case templates.StepClick:
		return "button"
	}
	return ""
}

func compatible(kind templates.StepKind, c control) bool {
	switch kind {
	case templates.StepFill, templates.StepTOTP:
		return c.Tag == "textarea" || (c.Tag == "input" && !strings.Contains(" submit button checkbox radio image reset file ", " "+c.Type+" "))
	case templates.StepClick:
		return c.Tag == "button" || c.Tag == "a" || (c.Tag == "input" && (c.Type == "submit" || c.Type == "button" || c.Type == "image"))
	case templates.StepSelect:
		return c.Tag == "select"
	case templates.StepCheck:
		return c.Tag == "input" && (c.Type == "checkbox" || c.Type == "radio")
	}
	return true
}

func roleMatch(role string, c control) (bool, string) {
	ids := strings.ToLower(c.ID + " " + c.Name + " " + c.Label + " " + c.Placeholder)
	switch role {
	case "username":
		if c.Autocomplete == "username" || c.Autocomplete == "email" {
			return true, "autocomplete=" + c.Autocomplete
		}
		if c.Type == "email" {
			return true, "an e-mail field"
		}
		if c.Type == "text" && containsAny(ids, "user", "login", "email", "account") {
			return true, "named like a user name"
		}
	case "current-password":
		if c.Type == "password" && c.Autocomplete != "new-password" {
			return true, "a password field"
		}
	case "new-password":
		if c.Type == "password" && (c.Autocomplete == "new-password" || containsAny(ids, "new", "confirm", "repeat")) {
			return true, "a new-password field"
		}
	case "otp":
		if c.Autocomplete == "one-time-code" || c.Inputmode == "numeric" {
			return true, "a one-time-code field"
		}
	case "button":
		if c.Type == "submit" || c.Tag == "button" {
			return true, "a submit button"
		}
	}
	return false, ""
}

func containsAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
