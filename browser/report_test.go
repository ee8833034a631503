package browser

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/templates"
)

// TestStepReportLine: the one step line, with the flow (rotate, on stderr)
// or the depth (template test) in front.
func TestStepReportLine(t *testing.T) {
	fill := templates.Step{Kind: templates.StepFill, Target: &templates.Selector{Alternatives: []templates.Alternative{{Raw: "#username"}, {Raw: "#user-login"}}}}
	tests := []struct {
		name     string
		rep      StepReport
		withFlow bool
		want     string
	}{
		{"matched a later alternative", StepReport{Flow: "login", Path: "2", Step: fill, Matched: "#user-login", Duration: 12 * time.Millisecond}, false,
			"  2        " + fill.Describe() + " -> #user-login  12ms  ok"},
		{"nested, with a note", StepReport{Flow: "login", Path: "6.then.1", Step: templates.Step{Kind: templates.StepIf}, Note: "condition true: then"}, false,
			"      6.then.1 " + templates.Step{Kind: templates.StepIf}.Describe() + " (condition true: then)  0s  ok"},
		{"with the flow, failed", StepReport{Flow: "change", Path: "3", Step: fill, Err: errors.New("boom"), Duration: time.Second}, true,
			"  change 3        " + fill.Describe() + "  1s  FAILED"},
		{"challenge", StepReport{Flow: "login", Path: "4", Step: fill, Err: &ChallengeError{Kind: templates.ChallengeCaptcha}}, true,
			"  login  4        " + fill.Describe() + "  0s  CHALLENGE captcha"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.rep.Line(tt.withFlow); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}

// TestExplain: a failed step says where, why and what the page offers; a
// challenge says what and where; another error says nothing.
func TestExplain(t *testing.T) {
	fill := templates.Step{Kind: templates.StepFill, Line: 12, Column: 7, Target: &templates.Selector{Alternatives: []templates.Alternative{{Raw: "#user"}}}}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"failed step", &StepError{Flow: "login", Path: "2", Step: fill, File: "site.yaml", URL: "http://127.0.0.1/login",
			Err: errors.New("no element"), Artifacts: []string{"/a/login-step2-failed.png"}, Candidates: []Candidate{{Selector: "#login", Why: "a text input"}}},
			"\nfailed: login step 2, " + fill.Describe() + "\nwhere:  site.yaml:12:7\nwhy:    no element\npage:   http://127.0.0.1/login\n" +
				"saved:  /a/login-step2-failed.png\nthe page offers instead:\n  1. \"#login\"                                 a text input\n"},
		{"challenge", &ChallengeError{Kind: templates.ChallengeCaptcha, Name: "recaptcha", URL: "http://127.0.0.1/c", Flow: "login", Step: "3", Screenshot: "/a/c.png"},
			"\nchallenge: captcha (recaptcha) at http://127.0.0.1/c after login step 3\nscreenshot: /a/c.png\n" +
				"A person must get past it (the console will let an operator do so); rotator never guesses.\n"},
		{"other", errors.New("no vault"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			Explain(&b, tt.err)
			if b.String() != tt.want {
				t.Errorf("got\n%q\nwant\n%q", b.String(), tt.want)
			}
		})
	}
}
