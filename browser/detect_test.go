package browser

import (
	"context"
	"testing"
	"time"

	"github.com/go-rod/rod"

	"github.com/rotator-pam/rotator/templates"
)

// TestDetectorRules holds the detector to its general rules, each on a
// small page: the labelled real pages (TestDetectorScore) have one page
// of one-time codes, too few to guard those rules alone. want maps an
// element's id to the role it should get ("" for none). Every selector
// the detector gives finds its field, in a shadow root with a >>> chain.
func TestDetectorRules(t *testing.T) {
	t.Parallel()
	page := newPage(t)
	for _, tt := range []struct {
		name, html string
		want       map[string]string
	}{
		{"a form in a component's open shadow root",
			`<login-box><template shadowrootmode="open"><form><label>Email <input id=u type=email name=email></label>
<label>Password <input id=p type=password name=password></label><button id=s type=submit>Sign in</button></form></template></login-box>`,
			map[string]string{"u": RoleUsername, "p": RolePassword, "s": RoleSubmit}},
		{"each field a component, in a form of the page",
			`<form><x-field name=user><template shadowrootmode="open"><label>Username <input id=u></label></template></x-field>
<x-field><template shadowrootmode="open"><label>Password <input id=p type=password></label></template></x-field>
<x-button><template shadowrootmode="open"><button id=s>Log in</button></template></x-button></form>`,
			map[string]string{"u": RoleUsername, "p": RolePassword, "s": RoleSubmit}},
		{"fields at the top of a shadow root, labelled by id there",
			`<x-verify><template shadowrootmode="open"><input id=c aria-labelledby=l><span id=l>One-time code</span><button id=s>Verify</button></template></x-verify>`,
			map[string]string{"c": RoleTOTP, "s": RoleSubmit}},
		{"a field before the password, in another component than it",
			`<form id=f><button id=s>Sign in</button></form>` + twoComponents("pw", "u", "f.prepend(u, pw)"),
			map[string]string{"u": RoleUsername, "p": RolePassword}},
		{"a field after the password, in another component than it",
			`<form id=f><button id=s>Sign in</button></form>` + twoComponents("u", "pw", "f.prepend(pw, u)"),
			map[string]string{"u": "", "p": RolePassword}},
		{"one-time code by autocomplete",
			`<form><input id=c autocomplete=one-time-code><button id=s>Verify</button></form>`,
			map[string]string{"c": RoleTOTP, "s": RoleSubmit}},
		{"six one-digit boxes",
			`<form>` + boxes(6) + `<button id=s type=submit>Continue</button></form>`,
			map[string]string{"d1": RoleTOTP, "d6": RoleTOTP, "s": RoleSubmit}},
		{"named otp, numeric",
			`<form><input id=c name=otp inputmode=numeric maxlength=6><input type=submit id=s value=Submit></form>`,
			map[string]string{"c": RoleTOTP, "s": RoleSubmit}},
		{"a code by its label, in German",
			`<form><label for=c>Bestätigungscode</label><input id=c maxlength=6><button id=s>Weiter</button></form>`,
			map[string]string{"c": RoleTOTP, "s": RoleSubmit}},
		{"a short numeric field on a verification page",
			`<title>Two-step verification</title><form><p>Enter the code we sent to your phone</p><input id=c inputmode=numeric maxlength=6><button id=s>Done</button></form>`,
			map[string]string{"c": RoleTOTP}},
		{"a captcha beside the password is no one-time code",
			`<form><input id=u name=login><input id=p type=password><img alt=captcha src=data:,><input id=c name=verifycode placeholder="Code from the picture"><button id=s>Log in</button></form>`,
			map[string]string{"u": RoleUsername, "p": RolePassword, "c": "", "s": RoleSubmit}},
		{"a country code is no one-time code",
			`<form><input id=cc type=search name=countryCode><input id=u type=tel name=phone><input id=p type=password><button id=s>Sign in</button></form>`,
			map[string]string{"cc": "", "p": RolePassword}},
		{"a password step with a reset link signs in",
			`<h1>Welcome back</h1><form><input id=p type=password><a href=/reset>Reset your password</a><button id=s>Next</button></form>`,
			map[string]string{"p": RolePassword, "s": RoleSubmit}},
		{"a change form by its names",
			`<form><input id=o type=password name=old_password><input id=n type=password name=new_password><input id=r type=password name=confirm_password><button id=s>Save</button></form>`,
			map[string]string{"o": RolePassword, "n": RoleNewPassword, "r": RoleConfirmPassword, "s": RoleSubmit}},
		{"one new password, in Italian",
			`<title>Scegli una nuova password</title><form><input id=n type=password><button id=s>Salva</button></form>`,
			map[string]string{"n": RoleNewPassword, "s": RoleSubmit}},
		{"a link drawn as a button submits",
			`<div><input id=u type=email><input id=p type=password><a id=s class="btn btn-primary">Log in</a><a href=/help>Help</a></div>`,
			map[string]string{"u": RoleUsername, "p": RolePassword, "s": RoleSubmit}},
		{"a submit outside the fields' box",
			`<div><div><div><input id=u autocomplete=username></div></div><div><div><button id=s type=button><span>Next</span></button></div></div></div>`,
			map[string]string{"u": RoleUsername, "s": RoleSubmit}},
		{"a sign-up's e-mail is not a username",
			`<form><input id=f name=first_name><input id=e type=email name=email><input id=p type=password name=password><button id=s>Create account</button></form>`,
			map[string]string{"f": "", "e": ""}},
		{"a tel field named a contract number is the username",
			`<form><label for=b>Branch</label><input id=b type=tel name=branch><label for=u>Contract number</label><input id=u type=tel name=contract_no><input id=p type=password><button id=s>Log in</button></form>`,
			map[string]string{"b": "", "u": RoleUsername, "p": RolePassword}},
		{"a tel field named a phone is not a username beside a user name",
			`<form><input id=u name=username><input id=t type=tel name=phone><input id=p type=password><button id=s>Log in</button></form>`,
			map[string]string{"u": RoleUsername, "t": "", "p": RolePassword}},
		{"decoys for the browser's autofill are no fields",
			`<form><input id=u name=username><input id=fu name=fakeusernameremembered><input id=fp type=password name=fakepasswordremembered><input id=p type=password name=password><button id=s>Log in</button></form>`,
			map[string]string{"u": RoleUsername, "fu": "", "fp": "", "p": RolePassword}},
		{"a newsletter's e-mail on a sign-in page is no username",
			`<div><input id=n name=newsletterEmailAddress placeholder="Your e-mail"><button>Go</button></div><form><input id=u name=login><input id=p type=password><button id=s>Log in</button></form>`,
			map[string]string{"n": "", "u": RoleUsername, "p": RolePassword}},
		{"the page's headings speak for its first field",
			`<title>Mint</title><h3>Enjoy with signing in</h3><div><div>Email or mobile number</div><div><input id=u></div></div>`,
			map[string]string{"u": RoleUsername}},
		{"a contact box with an input button is one group, not a sign-in",
			`<title>Hi</title><div><div><p>Name</p><input id=n></div><div><p>Email</p><input id=e type=email></div><div><p>Phone</p><input id=t></div><input type=button id=s value=Submit></div>`,
			map[string]string{"n": "", "e": "", "t": ""}},
		{"a contact form's e-mail is no username",
			`<title>Log in</title><form><input id=e type=email name=email><textarea name=message></textarea><button id=s>Send</button></form>`,
			map[string]string{"e": ""}},
		{"Japanese",
			`<form><label for=u>ユーザーID</label><input id=u><label for=p>パスワード</label><input id=p type=password><button id=s type=button>ログイン</button></form>`,
			map[string]string{"u": RoleUsername, "p": RolePassword, "s": RoleSubmit}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fields := detectHTML(t, page, tt.html)
			got := bestRoles(fields)
			for id, want := range tt.want {
				if got[id] != want {
					t.Errorf("#%s: %q, want %q (all: %v)", id, got[id], want, got)
				}
			}
			selectorsFindTheirFields(t, page, fields)
		})
	}
}

// TestDetectorHiddenFieldsRankLower: a field not shown now (a later step,
// a trap for robots) is reported, but below the shown one of its role, so
// a suggested template fills the shown one.
func TestDetectorHiddenFieldsRankLower(t *testing.T) {
	t.Parallel()
	page := newPage(t)
	fields := detectHTML(t, page, `<form><input id=e type=email name=email><input id=trap name=username style="display:none">
<input id=p type=password name=password><button>Sign in</button></form>`)
	score := map[string]float64{}
	for _, f := range fields {
		if f.Role == RoleUsername {
			score[f.Mark] = f.Score
		}
	}
	if score["e"] == 0 || score["trap"] == 0 || score["e"] <= score["trap"] {
		t.Errorf("username scores %v: want both, the shown #e first", score)
	}
}

// twoComponents makes, in the order given, a component whose shadow root
// holds a password field (#p) and one whose root holds a field named
// nothing a username is named (#u), then puts them in the form #f with
// place: which comes first in the page is not which was made first.
func twoComponents(first, second, place string) string {
	return `<script>{const f = document.getElementById("f"), make = (tag, html) => { const e = document.createElement(tag); e.attachShadow({mode: "open"}).innerHTML = html; return e; };
const mk = {pw: () => make("x-pw", "<input id=p type=password>"), u: () => make("x-u", "<input id=u name=contract>")};
const ` + first + ` = mk.` + first + `(), ` + second + ` = mk.` + second + `(); ` + place + `;}</script>`
}

func boxes(n int) string {
	s := ""
	for i := 1; i <= n; i++ {
		s += `<input id=d` + string(rune('0'+i)) + ` maxlength=1 inputmode=numeric>`
	}
	return s
}

// detectHTML runs the detector on html; each field's Mark is its
// element's id.
func detectHTML(t *testing.T, page *rod.Page, html string) []DetectedField {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := page.Context(ctx)
	if err := p.SetDocumentContent(html); err != nil {
		t.Fatal(err)
	}
	fields, err := detectWith(ctx, p, "id")
	if err != nil {
		t.Fatal(err)
	}
	return fields
}

// bestRoles is each element's most confident role, by id.
func bestRoles(fields []DetectedField) map[string]string {
	role, best := map[string]string{}, map[string]float64{}
	for _, f := range fields {
		if f.Score > best[f.Mark] {
			role[f.Mark], best[f.Mark] = f.Role, f.Score
		}
	}
	return role
}

// selectorsFindTheirFields checks that each selector of each field with an
// id finds that very element, as a step would.
func selectorsFindTheirFields(t *testing.T, page *rod.Page, fields []DetectedField) {
	t.Helper()
	p := page.Context(ctxFor(t))
	for _, f := range fields {
		for _, s := range f.Selectors {
			if f.Mark == "" {
				break
			}
			alt, err := templates.ParseAlternative(s)
			if err != nil {
				t.Errorf("#%s: %q: %v", f.Mark, s, err)
				continue
			}
			found, _, err := locate(p, &templates.Selector{Alternatives: []templates.Alternative{alt}}, false)
			if err != nil || found.el == nil {
				t.Errorf("#%s: %q finds nothing (%v)", f.Mark, s, err)
				continue
			}
			if id, err := found.el.Attribute("id"); err != nil || id == nil || *id != f.Mark {
				t.Errorf("#%s: %q finds another element (%v)", f.Mark, s, err)
			}
		}
	}
}
