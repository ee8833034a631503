package importer

import (
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/templates"
)

func TestSuggest(t *testing.T) {
	now := time.Date(2026, 3, 4, 23, 30, 0, 0, time.FixedZone("X", -3*3600))
	for _, c := range []struct {
		name, page string
		fields     []browser.DetectedField
		want       string
	}{
		{"sign-in page by URL", "https://example.com/login", []browser.DetectedField{
			{Role: browser.RoleSubmit, Score: 0.8, Why: "type=submit", Selectors: []string{`button[type="submit"]`}},
			{Role: browser.RolePassword, Score: 0.95, Why: "type=password", Selectors: []string{"#pw", `input[name="pw"]`}},
			{Role: browser.RoleUsername, Score: 0.5, Why: "before the password", Selectors: []string{"#acct"}},
			{Role: browser.RoleUsername, Score: 0.4, Why: "a worse one", Selectors: []string{"#q"}},
			{Role: browser.RoleTOTP, Score: 0.99, Why: "no selector", Selectors: nil},
		}, `# Suggested by ` + "`rotator template suggest https://example.com/login`" + ` on 2026-03-05.
# Check every selector (the confidence is in each comment), then put this
# under flows: in a template and run ` + "`rotator template test`" + `.
login:
  - goto: https://example.com/login
  # username: confidence 0.50 (before the password); LOW: check it
  - fill: '#acct'
    value: '{{ username }}'
  # password: confidence 0.95 (type=password)
  - fill: ['#pw', 'input[name="pw"]']
    value: '{{ password }}'
  # submit: confidence 0.80 (type=submit)
  - click: button[type="submit"]
`},
		{"change page from a file", "saved.html", []browser.DetectedField{
			{Role: browser.RoleConfirmPassword, Score: 0.7, Why: "repeat", Selectors: []string{"#pw2"}},
			{Role: browser.RoleNewPassword, Score: 0.9, Why: "new", Selectors: []string{"#pw1"}},
			{Role: browser.RolePassword, Score: 0.9, Why: "current", Selectors: []string{"#old"}},
			{Role: browser.RoleTOTP, Score: 0.6, Why: "one-time-code", Selectors: []string{"#otp"}},
		}, `# Suggested by ` + "`rotator template suggest saved.html`" + ` on 2026-03-05.
# Check every selector (the confidence is in each comment), then put this
# under flows: in a template and run ` + "`rotator template test`" + `.
change:
  # password: confidence 0.90 (current)
  - fill: '#old'
    value: '{{ password }}'
  # new password: confidence 0.90 (new)
  - fill: '#pw1'
    value: '{{ new_password }}'
  # confirm password: confidence 0.70 (repeat)
  - fill: '#pw2'
    value: '{{ new_password }}'
  # totp: confidence 0.60 (one-time-code)
  - totp: '#otp'
`},
	} {
		t.Run(c.name, func(t *testing.T) {
			out, err := Suggest(c.page, c.fields, now)
			if err != nil {
				t.Fatal(err)
			}
			if string(out) != c.want {
				t.Errorf("got\n%s\nwant\n%s", out, c.want)
			}
		})
	}
}

// A login and a change fragment, put under flows:, make a template that
// validates.
func TestSuggestValidates(t *testing.T) {
	login, err := Suggest("https://example.com/login", []browser.DetectedField{
		{Role: browser.RoleUsername, Score: 0.9, Selectors: []string{"#u"}},
		{Role: browser.RolePassword, Score: 0.9, Selectors: []string{"#p"}},
		{Role: browser.RoleSubmit, Score: 0.9, Selectors: []string{"button"}},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	change, err := Suggest("https://example.com/settings", []browser.DetectedField{
		{Role: browser.RolePassword, Score: 0.9, Selectors: []string{"#old"}},
		{Role: browser.RoleNewPassword, Score: 0.9, Selectors: []string{"#new", "input[name=new]"}},
		{Role: browser.RoleSubmit, Score: 0.9, Selectors: []string{"#save"}},
	}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tpl := "name: example\nbase_url: https://example.com/\nflows:\n" + indent(login) + indent(change) + "  logout:\n    - goto: /logout\n"
	if _, diags := templates.Parse("example.yaml", []byte(tpl)); diags.HasErrors() {
		t.Fatalf("%v\n%s", diags.Err(), tpl)
	}
}

func indent(b []byte) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(string(b)), "\n", "\n  ") + "\n"
}
