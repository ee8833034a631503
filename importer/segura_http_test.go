package importer

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/internal/demoacct"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// A template in senhasegura's HTTP dialect imports into browser steps: get
// is a goto (the first one base_url and a relative path), fill-form a fill
// of the named field, select-button and submit a click of that button (or
// of the filled form's own), expect a check of the page's text.
func TestSeguraHTTPDialect(t *testing.T) {
	src, err := os.ReadFile("testdata/segura-http/demo-social.psc")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Segura("demo-http", src)
	if err != nil {
		t.Fatal(err)
	}
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
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	t.Parallel()
	src, err := os.ReadFile("testdata/segura-http/demo-social.psc")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Segura("demo-http", src)
	if err != nil {
		t.Fatal(err)
	}
	tpl, diags := templates.Parse("demo-http.yaml", res.YAML)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	dir := t.TempDir()
	site := demosite.New(demosite.Options{})
	hs := httptest.NewServer(site.Handler())
	defer hs.Close()
	srv := hs.URL
	st, err := store.Create(context.Background(), filepath.Join(dir, "v.db"), secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	demoacct.Add(t, site, st, srv+"/", demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	r := &rotator.Rotator{
		Store:       st,
		Opener:      rotator.BrowserOpener{State: st},
		Templates:   func(string) (*templates.Template, error) { return tpl, nil },
		Actor:       "test",
		ArtifactDir: func(a string) string { return filepath.Join(dir, "artifacts", a) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := r.Rotate(ctx, "alice")
	if err != nil || out.Outcome != rotation.Succeeded {
		t.Fatalf("%v %s: %s", err, out.Outcome, out.Reason)
	}
	u, _ := site.User("alice")
	pw, _ := st.Password(ctx, "alice")
	if u.Password != pw.Reveal() || u.Password == "Alice-pass-1234" {
		t.Error("the site and the vault disagree after the rotation")
	}
}
