package importer

import (
	"context"
	"encoding/json"
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

func TestRecorderMapsEveryStep(t *testing.T) {
	src, err := os.ReadFile("testdata/demo-social.recording.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Recorder("demo-recorded", src)
	if err != nil {
		t.Fatal(err)
	}
	y := string(res.YAML)
	// What was typed while recording never reaches the template.
	for _, secret := range []string{"Alice-pass-1234", "Alice-pass-5678", "alice"} {
		if strings.Contains(y, secret) {
			t.Errorf("the recorded value %q is in the template:\n%s", secret, y)
		}
	}
	tpl, diags := templates.Parse("demo-recorded.yaml", res.YAML)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	want := map[string][]string{
		"login":  {"{{ username }}", "{{ password }}"},
		"change": {"{{ password }}", "{{ new_password }}", "{{ new_password }}"},
	}
	for flow, values := range want {
		steps, _ := tpl.Flows.Get(flow)
		var got []string
		for _, s := range steps {
			if s.Kind == templates.StepFill {
				got = append(got, s.Value.Raw)
			}
		}
		if strings.Join(got, " ") != strings.Join(values, " ") {
			t.Errorf("%s fills %v, want %v", flow, got, values)
		}
	}
	if _, ok := tpl.Flows.Get("logout"); !ok {
		t.Error("no logout flow")
	}
	// Every step of the recording is a step of the template or a note.
	var rec recording
	if err := json.Unmarshal(src, &rec); err != nil {
		t.Fatal(err)
	}
	c := &recConv{d: &doc{params: map[string]string{}, flows: map[string][]step{}}}
	covered := map[int]bool{}
	for i, s := range rec.Steps {
		c.step(i+1, s)
	}
	for _, s := range c.out {
		covered[s.index] = true
	}
	for _, n := range c.notes {
		covered[n.Line] = true
	}
	for i, s := range rec.Steps {
		if !covered[i+1] && s.Type != "setViewport" && s.Type != "keyUp" && !(s.Type == "keyDown" && len(s.Key) == 1) {
			t.Errorf("step %d (%s) is neither imported nor reported", i+1, s.Type)
		}
	}

	// A field the importer cannot place keeps its value, unless the value
	// looks like a password.
	odd := `{"title": "t", "steps": [{"type": "navigate", "url": "https://x.example/login"},
		{"type": "change", "value": "Hunter2-Secret!", "selectors": [["#field1"]]},
		{"type": "change", "value": "pw0", "selectors": [["input[type=password]"]]},
		{"type": "click", "selectors": [["#go"]]},
		{"type": "change", "value": "Old-pass-1", "selectors": [["#current-password"]]},
		{"type": "change", "value": "New-pass-1", "selectors": [["#new-password"]]},
		{"type": "click", "selectors": [["#save"]]}]}`
	res, err = Recorder("odd", []byte(odd))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(res.YAML), "Hunter2") || !strings.Contains(string(res.YAML), "this imported template has no logout flow yet") {
		t.Errorf("odd recording:\n%s", res.YAML)
	}
	for _, bad := range []string{`{}`, `{"steps": [{"type": "click", "selectors": [["#a"]]}]}`, `not json`} {
		if _, err := Recorder("x", []byte(bad)); err == nil {
			t.Errorf("%s: imported", bad)
		}
	}
}

// TestRecordedTemplateRotates: the template imported from a hand-written
// Recorder export of the demo site's flows rotates a demo account.
func TestRecordedTemplateRotates(t *testing.T) {
	src, err := os.ReadFile("testdata/demo-social.recording.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Recorder("demo-recorded", src)
	if err != nil {
		t.Fatal(err)
	}
	rotatesOnDemoSite(t, "demo-recorded.yaml", res.YAML)
}

// rotatesOnDemoSite parses an imported template and rotates a demo-site
// account with it, in real Chromium: the site then holds the vault's new
// password.
func rotatesOnDemoSite(t *testing.T, name string, yaml []byte) {
	t.Helper()
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	tpl, diags := templates.Parse(name, yaml)
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	site, st, r := demoAccount(t, "v1", tpl)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	out, err := r.Rotate(ctx, "alice")
	if err != nil || out.Outcome != rotation.Succeeded {
		t.Fatalf("%v %s: %s", err, out.Outcome, out.Reason)
	}
	u, _ := site.User("alice")
	pw, _ := st.Password(ctx, "alice")
	if u.Password != pw.Reveal() || u.Password == "Alice-pass-1234" {
		t.Fatal("the site does not hold the vault's new password")
	}
}

func TestTOTPField(t *testing.T) {
	for _, c := range []struct {
		in   string
		want bool
	}{
		{"#otp", true},
		{"input[name=\"one-time-code\"]", true},
		{"#one_time", true},
		{"#verification.code", true},
		{"#auth code", true},
		{"#code", true},
		{"code", true},
		{"input[name=\"code\"]", true},
		{"#sms-code2", false},
		{"#postcode", false},
		{"#zipcode", false},
		{"#code_", true},
		{"#username", false},
		{"", false},
	} {
		if got := totpField(c.in); got != c.want {
			t.Errorf("totpField(%q) = %v, want %v", c.in, got, c.want)
		}
	}
}

// demoAccount serves the demo site in layout, with alice (a password, no
// TOTP) on it and in a fresh vault, and a rotator whose every template is
// tpl.
func demoAccount(t *testing.T, layout string, tpl *templates.Template) (*demosite.Site, *store.Store, *rotator.Rotator) {
	t.Helper()
	dir := t.TempDir()
	site := demosite.New(demosite.Options{})
	if err := site.SetLayout(layout); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	t.Cleanup(srv.Close)
	st, err := store.Create(context.Background(), filepath.Join(dir, "v.db"), secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	demoacct.Add(t, site, st, srv.URL+"/", demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	return site, st, &rotator.Rotator{
		Store:       st,
		Opener:      rotator.BrowserOpener{Chromium: testChromium, State: st},
		Templates:   func(string) (*templates.Template, error) { return tpl, nil },
		Actor:       "test",
		ArtifactDir: func(a string) string { return filepath.Join(dir, "artifacts", a) },
	}
}
