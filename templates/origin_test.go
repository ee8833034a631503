package templates

import (
	"strings"
	"testing"
)

func TestOrigin(t *testing.T) {
	for in, want := range map[string]string{
		"https://Example.COM/login?x=1": "https://example.com",
		"http://127.0.0.1:8080/":        "http://127.0.0.1:8080",
		"https://example.com:443/":      "https://example.com",
		"http://example.com:80":         "http://example.com",
		"https://example.com:8443":      "https://example.com:8443",
		"http://[::1]:9000/x":           "http://[::1]:9000",
	} {
		if got, err := Origin(in); err != nil || got != want {
			t.Errorf("Origin(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"file:///etc/passwd", "javascript:alert(1)", "data:text/html,x", "/login", "https://"} {
		if got, err := Origin(bad); err == nil {
			t.Errorf("Origin(%q) = %q, want an error", bad, got)
		}
	}
}

func TestOriginsKey(t *testing.T) {
	tpl, diags := Parse("t.yaml", []byte(`name: t
base_url: https://www.example.test/
origins: [https://Login.Example.test, "http://127.0.0.1:8080/"]
flows:
  login: [{goto: /}, {expect: {url: /}}]
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`))
	if tpl == nil {
		t.Fatal(diags.Err())
	}
	if strings.Join(tpl.Origins, " ") != "https://login.example.test http://127.0.0.1:8080" {
		t.Errorf("origins %q", tpl.Origins)
	}
}

func TestSignsIn(t *testing.T) {
	fill := func(v string) Step {
		tx, err := ParseText(v)
		if err != nil {
			t.Fatal(err)
		}
		return Step{Kind: StepFill, Value: tx}
	}
	click, press := Step{Kind: StepClick}, Step{Kind: StepPress}
	expect, wait := Step{Kind: StepExpect}, Step{Kind: StepWaitFor}
	logout := Step{Kind: StepClick}
	tests := []struct {
		name  string
		steps []Step
		want  bool
	}{
		{"sign out and in", []Step{logout, fill("{{ username }}"), fill("{{ new_password }}"), click, expect}, true},
		{"password variable, Enter, wait", []Step{fill("{{ password }}"), press, wait}, true},
		{"inside a frame", []Step{{Kind: StepFrame, Steps: []Step{fill("{{ new_password }}"), click}}, expect}, true},
		{"confirmation only", []Step{expect}, false},
		{"no submit", []Step{fill("{{ new_password }}"), expect}, false},
		{"no check after the submit", []Step{expect, fill("{{ new_password }}"), click}, false},
		{"submit before the fill", []Step{click, fill("{{ new_password }}"), expect}, false},
		{"password with more text", []Step{fill("x{{ new_password }}"), click, expect}, false},
		{"username only", []Step{fill("{{ username }}"), click, expect}, false},
		{"only in an if", []Step{{Kind: StepIf, Then: []Step{fill("{{ new_password }}"), click, expect}}}, false},
	}
	for _, tt := range tests {
		if got := SignsIn(tt.steps); got != tt.want {
			t.Errorf("%s: SignsIn = %v", tt.name, got)
		}
	}
}

func TestMaxFailedSignIns(t *testing.T) {
	src := func(n string) []byte {
		return []byte(`name: t
base_url: https://www.example.test/
max_failed_sign_ins: ` + n + `
flows:
  login: [{goto: /}, {expect: {url: /}}]
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`)
	}
	tpl, diags := Parse("t.yaml", src("1"))
	if tpl == nil || tpl.MaxFailedSignIns != 1 {
		t.Fatalf("max_failed_sign_ins 1: %v", diags.Err())
	}
	for _, bad := range []string{"0", "11", "two"} {
		if _, diags := Parse("t.yaml", src(bad)); diags.Err() == nil {
			t.Errorf("max_failed_sign_ins %s was accepted", bad)
		}
	}
}
