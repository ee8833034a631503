package templates

import (
	"slices"
	"strings"
	"testing"
)

// A ">>>" chain is read part by part: every part before the last is a
// host (or frame) selector, checked as CSS; the last is CSS or a text
// selector. What is not a chain stays what it was.
func TestParseChain(t *testing.T) {
	tests := []struct {
		in     string
		kind   SelectorKind
		css    string
		text   string
		within []string
	}{
		{"my-app >>> #password", SelCSS, "#password", "", []string{"my-app"}},
		{"my-app>>>#password", SelCSS, "#password", "", []string{"my-app"}},
		{"css=my-app >>> form input[type=password]", SelCSS, "form input[type=password]", "", []string{"my-app"}},
		{"#shell >>> settings-page >>> input[name=new]", SelCSS, "input[name=new]", "", []string{"#shell", "settings-page"}},
		{"iframe#login >>> #password", SelCSS, "#password", "", []string{"iframe#login"}},
		{"iframe#login >>> x-form >>> #password", SelCSS, "#password", "", []string{"iframe#login", "x-form"}},
		{"my-app >>> button:contains(Save)", SelText, "button", "Save", []string{"my-app"}},
		{"my-app >>> text=Sign in", SelText, "", "Sign in", []string{"my-app"}},
		{"div:is(.a, .b) > x-login >>> #pw", SelCSS, "#pw", "", []string{"div:is(.a, .b) > x-login"}},
		// ">>>" inside quotes or parentheses is not a combinator.
		{`input[placeholder=">>>"]`, SelCSS, `input[placeholder=">>>"]`, "", nil},
		{"button:contains(Next >>>)", SelText, "button", "Next >>>", nil},
		{"x-app >>> button:contains(Next >>>)", SelText, "button", "Next >>>", []string{"x-app"}},
		{"text=a >>> b", SelText, "", "a >>> b", nil},
		{"#plain", SelCSS, "#plain", "", nil},
	}
	for _, tt := range tests {
		a, err := ParseAlternative(tt.in)
		if err != nil || a.Kind != tt.kind || a.CSS != tt.css || a.Text != tt.text || !slices.Equal(a.Within, tt.within) || a.Raw != tt.in {
			t.Errorf("%q -> %+v %v", tt.in, a, err)
		}
	}
}

// Each part of a chain is checked, and the error names what is wrong.
func TestParseChainRefuses(t *testing.T) {
	for in, want := range map[string]string{
		">>> #pw":                      "part 1 of the >>> chain is empty",
		"my-app >>>":                   "part 2 of the >>> chain is empty",
		"a >>> >>> b":                  "part 2 of the >>> chain is empty",
		"a >>>> b":                     "after >>>: selector \"> b\": not a CSS selector",
		"my-app[x >>> #pw":             "not a CSS selector",
		"my-app:bogus >>> #pw":         "before >>>: not a CSS selector",
		"my-app >>> #pw[":              "after >>>: selector \"#pw[\": not a CSS selector",
		"a:contains(x) >>> #pw":        "before >>>",
		"a, b >>> #pw":                 "selector list",
		"my-app >>> #a, #b":            "selector list",
		"my-app >>> //input":           "XPath cannot follow >>>",
		"my-app >>> xpath=//input":     "XPath cannot follow >>>",
		"xpath=//my-app >>> //input":   ">>> reaches into shadow roots and frames from CSS only",
		"my-app >>> text=":             "has no text",
		"my-app >>> button:contains()": ":contains() is empty",
	} {
		_, err := ParseAlternative(in)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want an error with %q", in, err, want)
		}
	}
}

// A template whose selectors are chains loads, and one with a bad part is
// refused with the step's position.
func TestTemplateWithChains(t *testing.T) {
	const tpl = `name: t
base_url: https://example.com/
flows:
  login:
    - goto: /login
    - frame: "my-app >>> iframe#login"
      steps:
        - fill: "x-login >>> #user"
          value: "{{ username }}"
    - fill: "iframe#login >>> x-login >>> #password"
      value: "{{ password }}"
    - click: ["my-app >>> button:contains(Sign in)", "#fallback"]
    - expect: {visible: "my-app >>> #home"}
  change: [{goto: /}, {expect: {url: /}}]
  logout: [{goto: /}]
`
	if got, diags := Parse("t.yaml", []byte(tpl)); got == nil {
		t.Fatalf("refused: %v", diags.Err())
	}
	bad := strings.Replace(tpl, `"my-app >>> #home"`, `"my-app >>> #home["`, 1)
	got, diags := Parse("t.yaml", []byte(bad))
	if got != nil || !strings.Contains(diags.Err().Error(), "t.yaml:13:") || !strings.Contains(diags.Err().Error(), "after >>>") {
		t.Fatalf("a bad chain: %v", diags.Err())
	}
}
