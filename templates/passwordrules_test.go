package templates

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParsePasswordRules(t *testing.T) {
	pr, err := ParsePasswordRules("minlength: 8; maxlength: 20; max-consecutive: 2; required: lower, upper; required: digit; allowed: [-!@#]];")
	if err != nil {
		t.Fatal(err)
	}
	if pr.MinLength != 8 || pr.MaxLength != 20 || pr.MaxConsecutive != 2 || len(pr.Required) != 2 {
		t.Fatalf("%+v", pr)
	}
	for _, c := range "aZ5-!@#]" {
		if !pr.Allowed.has(c) {
			t.Errorf("%q not allowed", c)
		}
	}
	for _, c := range "$ %" {
		if pr.Allowed.has(c) {
			t.Errorf("%q allowed", c)
		}
	}
	checks := []struct {
		pw, err string
	}{
		{"abcD1234", ""},
		{"abcD123", "shorter than minlength 8"},
		{"abcD1234abcD1234abcD1", "longer than maxlength 20"},
		{"abcd1234", ""}, // lower OR upper satisfies the first required
		{"abcdefgh", "no character from required digit"},
		{"abcD1234$", "character 9 is not allowed"},
		{"aaabcD1234", "more than 2 identical characters in a row"},
		{"ab]D12-!", ""},
	}
	for _, c := range checks {
		err := pr.Check(c.pw)
		if c.err == "" && err != nil || c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("Check(%q) = %v, want %q", c.pw, err, c.err)
		}
		if err != nil && strings.Contains(err.Error(), c.pw) {
			t.Errorf("Check quotes the password: %v", err)
		}
	}
	if d, _ := ParsePasswordRules(""); d.Allowed.Source != "ascii-printable" || len(d.Allowed.Chars) != 95 {
		t.Errorf("empty rules allow %+v", d.Allowed)
	}
}

func TestParsePasswordRulesErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"minlength: 12; maxlength: 8", "minlength 12 is more than maxlength 8"},
		{"maxlength: 2; required: lower; required: upper; required: digit", "3 required classes do not fit in maxlength 2"},
		{"minlength: 4; max-consecutive: 2; allowed: [a]", "only 'a' is allowed, at most 2 in a row"},
		{"required: [a-z]", "'-' may only come first"},
		{"required: []", "has no ASCII printable character"},
		{"required: [äö]", "has no ASCII printable character"},
		{"required: [abc", "no closing ']'"},
		{"required: uppercase", `unknown character class "uppercase"`},
		{"required: lower upper", `unknown character class "lower upper"`},
		{"required: lower,", "trailing ','"},
		{"minlength: eight", `"eight" is not a whole number`},
		{"minlength: 8; minlength: 9", "minlength given twice"},
		{"min-length: 8", `unknown password rule "min-length"`},
		{"minlength 8", "want name: value"},
		{"maxlength: 0", "allows no password"},
		{"max-consecutive: 0", "allows no password"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParsePasswordRules(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
}

// Every rule set Apple publishes parses.
func TestApplePasswordRulesParse(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "data", "apple-password-manager-resources", "password-rules.json"))
	if err != nil {
		t.Skip("shared data not present:", err)
	}
	var rules map[string]struct {
		Rules string `json:"password-rules"`
	}
	if err := json.Unmarshal(b, &rules); err != nil {
		t.Fatal(err)
	}
	for domain, r := range rules {
		if _, err := ParsePasswordRules(r.Rules); err != nil {
			t.Errorf("%s: %v", domain, err)
		}
	}
	if len(rules) < 400 {
		t.Errorf("only %d rule sets", len(rules))
	}
}

func FuzzParsePasswordRules(f *testing.F) {
	for _, s := range []string{"minlength: 8; required: lower, upper; allowed: [-!]];", "required: unicode", "max-consecutive: 1; allowed: [ab]", "[", ";;;", "required: [-]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		pr, err := ParsePasswordRules(in)
		if err != nil {
			return
		}
		if pr.MaxLength > 0 && pr.MinLength > pr.MaxLength {
			t.Fatal("accepted minlength > maxlength")
		}
		for _, r := range pr.Required {
			if !r.Unicode && len(r.Chars) == 0 {
				t.Fatal("empty required class accepted")
			}
		}
	})
}
