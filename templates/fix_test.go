package templates

import (
	"strings"
	"testing"
)

const fixSource = `# a template under repair
name: t
base_url: https://example.test/

flows:
  login:
    - goto: /login        # the sign-in page
    - fill: "#user"       # the username
      value: "{{ username }}"
    - fill: ['#pw', "input[type=password]"]
      value: "{{ password }}"
    - click:
        - button#go
        - 'text=Sign in'
    - press: Enter
      on: input#pw2 # after a comment
    - expect: {visible: .welcome}

  change:
    - goto: /settings
    - fill: input[name="new"]
      value: "{{ new_password }}"
    - expect: {visible: ["#ok", ".ok"]}
  logout: [{goto: /logout}]
`

// PrependSelector adds the chosen selector first in every shape a
// selector is written in, and changes nothing else in the file: comments,
// blank lines and quoting stay as they were, and the result validates
// with the new alternative first.
func TestPrependSelector(t *testing.T) {
	tpl, diags := Parse("t.yaml", []byte(fixSource))
	if tpl == nil || diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	for _, tc := range []struct {
		name     string
		step     Step
		sel      string
		wantLine string // the edited line(s), exactly
	}{
		{"plain scalar with a comment", tpl.Flows.Login[1], `#username`, `    - fill: ["#username", "#user"]       # the username`},
		{"flow list", tpl.Flows.Login[2], `input[name="pass"]`, `    - fill: ["input[name=\"pass\"]", '#pw', "input[type=password]"]`},
		{"block list", tpl.Flows.Login[3], `form button[type=submit]`, "    - click:\n        - \"form button[type=submit]\"\n        - button#go"},
		{"press on", tpl.Flows.Login[4], `#password`, `      on: ["#password", "input#pw2"] # after a comment`},
		{"condition", tpl.Flows.Login[5], `.home`, `    - expect: {visible: [".home", ".welcome"]}`},
		{"unquoted with quotes inside", tpl.Flows.Change[1], `#new-password`, `    - fill: ["#new-password", "input[name=\"new\"]"]`},
		{"condition list", tpl.Flows.Change[2], `.alert-success`, `    - expect: {visible: [".alert-success", "#ok", ".ok"]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := PrependSelector([]byte(fixSource), tc.step.Line, tc.step.Column, tc.sel)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(out), tc.wantLine+"\n") {
				t.Errorf("no %q in\n%s", tc.wantLine, out)
			}
			// Only that line changed (or one line was added).
			before, after := strings.Split(fixSource, "\n"), strings.Split(string(out), "\n")
			changed := 0
			for i, j := 0, 0; i < len(before) && j < len(after); i, j = i+1, j+1 {
				if before[i] != after[j] {
					changed++
					if len(after) > len(before) {
						j++ // the added line
					}
				}
			}
			if changed != 1 {
				t.Errorf("%d lines changed:\n%s", changed, out)
			}
			fixed, diags := Parse("t.yaml", out)
			if fixed == nil || diags.HasErrors() {
				t.Fatalf("%v\n%s", diags.Err(), out)
			}
			var got *Selector
			for _, s := range append(append([]Step{}, fixed.Flows.Login...), fixed.Flows.Change...) {
				if s.Line == tc.step.Line && s.Column == tc.step.Column {
					got = s.Target
					if got == nil {
						got = s.Cond.Selector
					}
				}
			}
			if got == nil || got.Alternatives[0].Raw != tc.sel {
				t.Errorf("the step's first alternative is %v, want %q", got, tc.sel)
			}
		})
	}
	if _, err := PrependSelector([]byte(fixSource), 7, 7, "#x"); err == nil {
		t.Error("a goto has no selector, yet it was edited")
	}
}
