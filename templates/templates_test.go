package templates

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestShippedTemplatesLoad(t *testing.T) {
	files, _ := filepath.Glob("*.yaml")
	if len(files) == 0 {
		t.Fatal("no shipped templates")
	}
	for _, f := range files {
		tpl, diags := LoadFile(f)
		if diags.HasErrors() || tpl == nil {
			t.Errorf("%s:\n%v", f, diags.Err())
		}
		for _, d := range diags {
			if d.Warning && !strings.Contains(d.Msg, "sleep") {
				t.Errorf("unexpected warning %s", d)
			}
		}
	}
}

func TestDemoTemplate(t *testing.T) {
	tpl, diags := LoadFile("demo-social.yaml")
	if tpl == nil {
		t.Fatal(diags.Err())
	}
	if tpl.Name != "demo-social" || len(tpl.Flows.Login) != 7 || tpl.Flows.Verify != nil || len(tpl.Challenges) != 3 {
		t.Errorf("%+v", tpl)
	}
	fill := tpl.Flows.Login[1]
	if fill.Kind != StepFill || len(fill.Target.Alternatives) != 2 || fill.Value.Vars()[0] != "username" {
		t.Errorf("fill %+v", fill)
	}
	cond := tpl.Flows.Login[6]
	if cond.Kind != StepExpect || cond.Cond.Kind != CondURL || cond.Message == "" {
		t.Errorf("expect %+v", cond)
	}
	click := tpl.Flows.Login[5].Then[1]
	if a := click.Target.Alternatives[1]; a.Kind != SelText || a.CSS != "button" || a.Text != "Verify" {
		t.Errorf("contains selector %+v", a)
	}
	if tpl.Rules.MinLength != 20 {
		t.Errorf("rules %+v", tpl.Rules)
	}
}

// TestValidationGolden checks the messages for broken templates against
// testdata/invalid/*.golden; go test ./templates -update rewrites them.
func TestValidationGolden(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if len(files) == 0 {
		t.Fatal("no invalid templates")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, diags := LoadFile(f)
			if !diags.HasErrors() && !strings.Contains(f, "warn") {
				t.Errorf("%s loaded without errors", f)
			}
			var b strings.Builder
			for _, d := range diags {
				b.WriteString(d.String() + "\n")
			}
			golden := strings.TrimSuffix(f, ".yaml") + ".golden"
			if *update {
				if err := os.WriteFile(golden, []byte(b.String()), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./templates -update)", err)
			}
			if b.String() != string(want) {
				t.Errorf("diagnostics differ from %s:\ngot:\n%s\nwant:\n%s", golden, b.String(), want)
			}
		})
	}
}

func TestParseText(t *testing.T) {
	tx, err := ParseText("{{ username }}@x.com/{{param.host}}")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := tx.Expand(func(v string) (string, error) { return "<" + v + ">", nil })
	if got != "<username>@x.com/<param.host>" {
		t.Errorf("expand %q", got)
	}
	for _, bad := range []string{"{{ user }}", "{{ username", "{{ }}", "{{ a b }}"} {
		if _, err := ParseText(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseAlternative(t *testing.T) {
	tests := []struct {
		in   string
		kind SelectorKind
		css  string
		x    string
		text string
	}{
		{"#id", SelCSS, "#id", "", ""},
		{"input[name=\"session[password]\"]", SelCSS, "input[name=\"session[password]\"]", "", ""},
		{"//a[@id='x']", SelXPath, "", "//a[@id='x']", ""},
		{"xpath=(//button)[2]", SelXPath, "", "(//button)[2]", ""},
		{"text=Sign in", SelText, "", "", "Sign in"},
		{"a:contains(Sair)", SelText, "a", "", "Sair"},
		{"button:contains(\"Log in\")", SelText, "button", "", "Log in"},
		{"css=a:hover", SelCSS, "a:hover", "", ""},
	}
	for _, tt := range tests {
		a, err := ParseAlternative(tt.in)
		if err != nil || a.Kind != tt.kind || a.CSS != tt.css || a.XPath != tt.x || a.Text != tt.text {
			t.Errorf("%q -> %+v %v", tt.in, a, err)
		}
	}
	for _, bad := range []string{"", "input[name=x", "//a[@id='x'", "text=", "a:contains()"} {
		if _, err := ParseAlternative(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzParse(f *testing.F) {
	seed, _ := os.ReadFile("demo-social.yaml")
	f.Add(seed)
	files, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	for _, file := range files {
		b, _ := os.ReadFile(file)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		start := time.Now()
		tpl, diags := Parse("fuzz.yaml", data)
		if d := time.Since(start); d > 2*time.Second {
			t.Fatalf("slow: %v", d)
		}
		if (tpl == nil) != diags.HasErrors() {
			t.Fatalf("template %v with errors %v", tpl != nil, diags.HasErrors())
		}
		for _, d := range diags {
			if d.Msg == "" {
				t.Fatal("empty diagnostic")
			}
		}
	})
}

func TestNameSpelling(t *testing.T) {
	for s, want := range map[string]bool{"demo-social": true, "a.b_c-1": true, "": false, "-x": false, "Demo": false, "é": false} {
		if validName(s) != want {
			t.Errorf("validName(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"host": true, "param.host": true, "param.": false, ".x": false, "a.b.c": false, "1a": false, "_a": true} {
		if validVarName(s) != want {
			t.Errorf("validVarName(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"disabled": true, "$x_1": true, "1x": false, "a-b": false} {
		if validProperty(s) != want {
			t.Errorf("validProperty(%q) = %v", s, !want)
		}
	}
	for _, c := range []struct{ in, css, text string }{
		{"a:contains(Sair)", "a", "Sair"},
		{":contains(x)", "", "x"},
		{`div:contains("a:contains(b)")`, `div:contains("a`, `b)"`},
	} {
		css, text, ok := cutContains(c.in)
		if !ok || css != c.css || text != c.text {
			t.Errorf("cutContains(%q) = %q, %q, %v", c.in, css, text, ok)
		}
	}
	if _, _, ok := cutContains("a:contains(x) b"); ok {
		t.Error("cutContains took a selector that goes on after the text")
	}
}
