package browser

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

// After a failed step, the candidates list the controls inside shadow
// roots (nested ones too) and same-origin frames, each with a >>> selector
// that finds that very control; the saved page holds the open shadow
// roots, as declarative shadow DOM, scrubbed of what was typed there.
func TestFailureShowsShadowContent(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{
		"/settings": shadowPages["/settings"] + `<iframe id="help" src="/login-frame"></iframe>` +
			// The page copies what is typed into the attribute, as
			// controlled inputs do.
			`<script>addEventListener("input", e => { const f = e.composedPath()[0]; f.setAttribute("value", f.value); }, true)</script>`,
		"/login-frame": shadowPages["/login-frame"],
	})
	tpl := parseTemplate(t, `name: t
base_url: http://127.0.0.1:1/
flows:
  login: [{goto: /}]
  change:
    - goto: /settings
    - fill: "x-app >>> x-change-password >>> #current"
      value: "{{ password }}"
    - fill: "#new-password"
      value: "{{ new_password }}"
      timeout: 2s
    - expect: {url: /changed}
  logout: [{goto: /}]
`)
	r := exfilRunner(t, tpl, srv.URL)
	err := r.RunFlow(ctxFor(t), templates.FlowChange)
	var se *StepError
	if !errors.As(err, &se) || se.Path != "3" {
		t.Fatalf("got %v, want the light-DOM selector to fail", err)
	}
	var sels []string
	for _, c := range se.Candidates {
		sels = append(sels, c.Selector)
	}
	if len(sels) == 0 || sels[0] != `x-app >>> x-change-password >>> input[name="new"]` {
		t.Errorf("candidates %q, want the shadow root's new-password field first", sels)
	}
	// Each candidate is a valid selector that finds the control it names.
	for _, c := range se.Candidates {
		alt, err := templates.ParseAlternative(c.Selector)
		if err != nil {
			t.Errorf("candidate %q: %v", c.Selector, err)
			continue
		}
		f, _, err := locate(r.Page, &templates.Selector{Alternatives: []templates.Alternative{alt}}, true)
		if err != nil || f.el == nil {
			t.Errorf("candidate %q finds nothing: %v", c.Selector, err)
		}
	}
	all := controlSelectors(t, r)
	for _, want := range []string{`x-app >>> x-change-password >>> input[name="confirm"]`, "x-app >>> x-change-password >>> button:contains(Save)",
		`iframe#help >>> input[name="pw"]`, "iframe#help >>> #go"} {
		if !strings.Contains(all, want+"\n") {
			t.Errorf("the page's controls lack %q:\n%s", want, all)
		}
	}
	html := savedHTML(t, se)
	for _, want := range []string{`<x-app><template shadowrootmode="open"><h1>Settings</h1><x-change-password><template shadowrootmode="open">`, `id="confirm"`} {
		if !strings.Contains(html, want) {
			t.Errorf("the saved page lacks %s:\n%s", want, html)
		}
	}
	if strings.Contains(html, "value=") {
		t.Errorf("the saved page holds a field's value:\n%s", html)
	}
	assertNoSecretIn(t, r.ArtifactDir, exfilPassword)
	// The page did copy the password into the shadow root's markup.
	if got := r.Page.MustEval(`() => document.querySelector("x-app").shadowRoot.querySelector("x-change-password").shadowRoot.getElementById("current").getAttribute("value")`).Str(); got != exfilPassword {
		t.Errorf("the page did not copy what was typed: the case tests nothing (%d characters)", len(got))
	}
}

// controlSelectors lists the selectors of every control the page offers,
// one a line.
func controlSelectors(t *testing.T, r *Runner) string {
	t.Helper()
	var controls []control
	if err := r.Page.MustEval(controlsJS, stableAttrs).Unmarshal(&controls); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, c := range controls {
		b.WriteString(c.Sel + "\n")
	}
	return b.String()
}

func savedHTML(t *testing.T, se *StepError) string {
	t.Helper()
	for _, a := range se.Artifacts {
		if strings.HasSuffix(a, ".html") {
			b, err := os.ReadFile(a)
			if err != nil {
				t.Fatal(err)
			}
			return string(b)
		}
	}
	t.Fatalf("no HTML saved: %v", se.Artifacts)
	return ""
}

// A screenshot draws as dots the text of fields in shadow roots and in
// same-origin frames too, and puts their own styles back.
func TestScreenshotsMaskShadowFields(t *testing.T) {
	t.Parallel()
	page := newPage(t).Context(ctxFor(t))
	r := &Runner{ArtifactDir: t.TempDir()}
	shot := func(value, name string) []byte {
		t.Helper()
		field := `<input style="font:20px monospace" value="` + value + `">`
		page.MustSetDocumentContent(`<!doctype html><x-field></x-field>` + shadowHost("x-field", "open", field) +
			`<iframe srcdoc='` + field + `'></iframe>`)
		page.MustWait(`() => document.querySelector("iframe").contentDocument.querySelector("input") !== null`)
		return savedShot(t, r, page, name)
	}
	a, b := shot("Secret-123456", "a.png"), shot("Other!-987654", "b.png")
	if !bytes.Equal(a, b) {
		t.Error("the screenshots differ with the shadow root's or the frame's field text: a secret there shows")
	}
	if got := page.MustEval(`() => document.querySelector("x-field").shadowRoot.querySelector("input").style.getPropertyValue("-webkit-text-security")`).Str(); got != "" {
		t.Errorf("the shadow root's field keeps the mask after the screenshot: %q", got)
	}
}
