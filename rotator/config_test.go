package rotator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/config"
)

// TestFromConfig: the limits, the artifact folder and the browser come
// from the configuration; templates are found in templates.dir, then among
// the shipped ones, and one with errors is refused.
func TestFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := config.Default()
	cfg.DataDir, cfg.Templates.Dir = dir, filepath.Join(dir, "templates")
	cfg.Browser.Bin, cfg.Browser.User = "/usr/bin/chromium", "rotator-browser"
	cfg.Rotation.MaxChangesPerDay, cfg.Rotation.MinGap, cfg.Rotation.KeepRuns, cfg.Rotation.MaxCandidates = 1, 2*time.Hour, 7, 4
	cfg.TOTP.MinValidity = 9 * time.Second
	if err := os.Mkdir(cfg.Templates.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg.Templates.Dir, "broken.yaml"), []byte("name: broken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	shipped, err := os.ReadFile("../templates/demo-social.yaml")
	if err != nil {
		t.Fatal(err)
	}
	mine := strings.Replace(string(shipped), "name: demo-social", "name: mine", 1)
	if err := os.WriteFile(filepath.Join(cfg.Templates.Dir, "mine.yaml"), []byte(mine), 0o600); err != nil {
		t.Fatal(err)
	}
	clock := func() time.Time { return time.Unix(1e9, 0) }

	r := FromConfig(cfg, nil, Wiring{Headful: true, Now: clock, Actor: "cli:test"})
	if r.Policy.MaxChanges != 1 || r.Policy.MinGap != 2*time.Hour || r.KeepRuns != 7 || r.MaxCandidates != 4 || r.TOTPMinValidity != 9*time.Second {
		t.Errorf("limits: %+v", r)
	}
	if r.Actor != "cli:test" || !r.now().Equal(clock()) {
		t.Errorf("actor %q, now %v", r.Actor, r.now())
	}
	if got, want := r.ArtifactDir("alice"), cfg.ArtifactDir("alice"); got != want {
		t.Errorf("ArtifactDir = %s, want %s", got, want)
	}
	o, ok := r.Opener.(BrowserOpener)
	if !ok || o.Chromium == nil || o.Chromium != r.Chromium {
		t.Fatalf("opener: %+v", r.Opener)
	}
	if bo := o.Chromium.Options(); bo.Bin != cfg.Browser.Bin || bo.User != cfg.Browser.User || !bo.Headful || bo.Sandbox == nil {
		t.Errorf("browser options: %+v", bo)
	}
	defer r.Close()
	if tpl, err := r.Templates("demo-social"); err != nil || tpl.Name != "demo-social" {
		t.Errorf("shipped template: %v, %v", tpl, err)
	}
	if tpl, err := r.Templates("mine"); err != nil || tpl.Name != "mine" {
		t.Errorf("template in templates.dir: %v, %v", tpl, err)
	}
	if _, err := r.Templates("broken"); err == nil {
		t.Error("a template with errors was not refused")
	}
}
