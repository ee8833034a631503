package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/templates"
)

// TestPrintStep: the one step printer, with the flow (rotate, on stderr)
// or the depth (template test) in front.
func TestPrintStep(t *testing.T) {
	fill := templates.Step{Kind: templates.StepFill, Target: &templates.Selector{Alternatives: []templates.Alternative{{Raw: "#username"}, {Raw: "#user-login"}}}}
	tests := []struct {
		name     string
		rep      browser.StepReport
		withFlow bool
		want     string
	}{
		{"matched a later alternative", browser.StepReport{Flow: "login", Path: "2", Step: fill, Matched: "#user-login", Duration: 12 * time.Millisecond}, false,
			"  2        " + fill.Describe() + " -> #user-login  12ms  ok\n"},
		{"nested, with a note", browser.StepReport{Flow: "login", Path: "6.then.1", Step: templates.Step{Kind: templates.StepIf}, Note: "condition true: then"}, false,
			"      6.then.1 " + templates.Step{Kind: templates.StepIf}.Describe() + " (condition true: then)  0s  ok\n"},
		{"with the flow, failed", browser.StepReport{Flow: "change", Path: "3", Step: fill, Err: errors.New("boom"), Duration: time.Second}, true,
			"  change 3        " + fill.Describe() + "  1s  FAILED\n"},
		{"challenge", browser.StepReport{Flow: "login", Path: "4", Step: fill, Err: &browser.ChallengeError{Kind: templates.ChallengeCaptcha}}, true,
			"  login  4        " + fill.Describe() + "  0s  CHALLENGE captcha\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			printStep(&b, tt.rep, tt.withFlow)
			if b.String() != tt.want {
				t.Errorf("got  %q\nwant %q", b.String(), tt.want)
			}
		})
	}
}
