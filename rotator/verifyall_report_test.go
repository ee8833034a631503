package rotator

import (
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/browser"
)

// TestTemplateHealthReport: a golden report of one template: a step a
// later alternative found, a failed one, and each account's result.
func TestTemplateHealthReport(t *testing.T) {
	h := TemplateHealth{Template: "demo-social", Accounts: 2, SignedIn: 1,
		Steps: []StepHealth{
			{Flow: "login", Path: browser.StepPath{{N: 2}}, Desc: "fill [#username | #user-login]", OK: 2,
				Matched: map[string]int{"#user-login": 1, "#username": 1}, Late: true},
			{Flow: "login", Path: browser.StepPath{{N: 5, Branch: "then"}, {N: 1}}, Desc: "click button[type=submit] and a description far too long to show", OK: 1, Failed: 1},
		},
		Results: []AccountCheck{{"alice", "signed in"}, {"dan", "failed: login flow, step 5.then.1"}}}
	var b strings.Builder
	h.Report(&b)
	want := `template demo-social: 1 of 2 account(s) signed in
  login  2         fill [#username | #user-login]                2/2 ok  matched #user-login x1, #username x1  <- not the first alternative: the page may have changed
  login  5.then.1  click button[type=submit] and a descriptio... 1/2 FAILED
  alice: signed in
  dan: failed: login flow, step 5.then.1
`
	if b.String() != want {
		t.Errorf("got\n%s\nwant\n%s", b.String(), want)
	}
}
