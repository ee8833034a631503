package importer

import (
	"os"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

// importHTTP imports the hand-written HTTP-dialect template of the demo
// site.
func importHTTP(t *testing.T) *Result {
	t.Helper()
	src, err := os.ReadFile("testdata/segura-http/demo-social.psc")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Segura("demo-http", src)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// A template in senhasegura's HTTP dialect imports into browser steps: get
// is a goto (the first one base_url and a relative path), fill-form a fill
// of the named field, select-button and submit a click of that button (or
// of the filled form's own), expect a check of the page's text.
func TestSeguraHTTPDialect(t *testing.T) {
	res := importHTTP(t)
	tpl, diags := templates.Parse("demo-http.yaml", res.YAML)
	if diags.HasErrors() {
		t.Fatalf("%v\n%s", diags.Err(), res.YAML)
	}
	for _, n := range res.Notes {
		if n.Warning {
			t.Errorf("warning: %s", n)
		}
	}
	for _, want := range []string{
		"base_url: http://127.0.0.1:8080/",
		"goto: /login",
		`fill: '[name="username"]'`,
		`click: ['form:has([name="password"]) [type=submit]', '[type=submit]']`,
		"text: Welcome",
		`click: ['[type=submit][name="Save"]', '[type=submit][value="Save"]', 'button:contains(Save)']`,
		"goto: /logout",
	} {
		if !strings.Contains(string(res.YAML), want) {
			t.Errorf("no %s in\n%s", want, res.YAML)
		}
	}
	if tpl.Flows.Verify != nil || len(tpl.Flows.Logout) == 0 || tpl.Flows.Logout[0].Kind != templates.StepGoto {
		t.Errorf("want rotator's own verify after a logout flow of the source's get /logout:\n%s", res.YAML)
	}
	// A source of neither dialect says so.
	if _, err := Segura("x", []byte("fill-form a b\n")); err == nil || !strings.Contains(err.Error(), "or get, in the HTTP dialect") {
		t.Errorf("got %v", err)
	}
}

// The imported HTTP-dialect template rotates a password on the demo site,
// in real Chromium, and the new password signs in.
func TestSeguraHTTPDialectRotates(t *testing.T) {
	t.Parallel()
	rotatesOnDemoSite(t, "demo-http.yaml", importHTTP(t).YAML)
}
