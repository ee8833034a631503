package rotator

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

func TestDefaultPassword(t *testing.T) {
	seen := map[string]bool{}
	for range 200 {
		pw, err := GeneratePassword(templates.PasswordRules{}, nil)
		if err != nil {
			t.Fatal(err)
		}
		s := pw.Reveal()
		if len(s) != 20 || !strings.ContainsAny(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") || !strings.ContainsAny(s, "abcdefghijklmnopqrstuvwxyz") ||
			!strings.ContainsAny(s, "0123456789") || !strings.ContainsAny(s, defaultSpecials) {
			t.Fatalf("default password misses a class or the length")
		}
		if seen[s] {
			t.Fatal("the same password twice")
		}
		seen[s] = true
	}
}

// Every generated password satisfies its rules: Apple's published rule sets
// and a table of hard ones, many times each.
func TestGeneratedPasswordsSatisfyRules(t *testing.T) {
	sets := []string{
		"minlength: 8; maxlength: 8; max-consecutive: 1; required: digit; allowed: [ab]",
		"minlength: 30; required: unicode",
		"maxlength: 4; required: upper; required: lower; required: digit; required: special",
		"required: [ ]; minlength: 6; allowed: lower",
		"minlength: 64; maxlength: 64; max-consecutive: 2; allowed: digit",
		"minlength: 12; required: [-]; required: [\\]]; allowed: [a]",
	}
	b, err := os.ReadFile(filepath.Join("..", "..", "shared", "data", "apple-password-manager-resources", "password-rules.json"))
	if err == nil {
		var apple map[string]struct {
			Rules string `json:"password-rules"`
		}
		if err := json.Unmarshal(b, &apple); err != nil {
			t.Fatal(err)
		}
		for _, r := range apple {
			sets = append(sets, r.Rules)
		}
	}
	tries := 0
	for _, src := range sets {
		rules, err := templates.ParsePasswordRules(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		for range 25 {
			pw, err := GeneratePassword(rules, nil)
			if err != nil {
				t.Fatalf("%q: %v", src, err)
			}
			if err := rules.Check(pw.Reveal()); err != nil {
				t.Fatalf("%q: generated password breaks the rules: %v", src, err)
			}
			if s := pw.Reveal(); s[0] == ' ' || s[len(s)-1] == ' ' {
				t.Fatalf("%q: password starts or ends with a space", src)
			}
			tries++
		}
	}
	t.Logf("%d passwords over %d rule sets", tries, len(sets))
}

func BenchmarkGeneratePassword(b *testing.B) {
	for b.Loop() {
		if _, err := GeneratePassword(templates.PasswordRules{}, nil); err != nil {
			b.Fatal(err)
		}
	}
}
