package rotator

import (
	"log/slog"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// Wiring is what a Rotator made by FromConfig takes besides the
// configuration.
type Wiring struct {
	// Headful shows the browser window.
	Headful bool
	// Now is the clock (nil: time.Now).
	Now func() time.Time
	// Actor names who runs the attempts, for the audit log.
	Actor string
	// Logger receives the rotator's log; BrowserLogger, Chromium's (nil:
	// none).
	Logger, BrowserLogger *slog.Logger
}

// FromConfig wires a Rotator to the vault s, the templates (templates.dir,
// then the shipped ones; a template with errors is refused) and the system
// Chromium (browser.bin, browser.user, sandboxed, its state kept in the
// vault), with cfg's limits: changes a day, minimum gap, candidates, TOTP
// validity, artifacts kept. Progress reports (OnStep, OnEvent) are the
// caller's to set.
func FromConfig(cfg config.Config, s *store.Store, w Wiring) *Rotator {
	ch := browser.NewChromium(browser.Options{Bin: cfg.Browser.Bin, User: cfg.Browser.User, Headful: w.Headful,
		Logger: w.BrowserLogger, Sandbox: &browser.Sandbox{}})
	return &Rotator{
		Store:           s,
		Opener:          BrowserOpener{Chromium: ch, State: s},
		Chromium:        ch,
		Templates:       TemplateFinder(cfg.Templates.Dir),
		Now:             w.Now,
		Logger:          w.Logger,
		Actor:           w.Actor,
		Policy:          cfg.Rotation.Policy(),
		TOTPMinValidity: cfg.TOTP.MinValidity,
		ArtifactDir:     cfg.ArtifactDir,
		KeepRuns:        cfg.Rotation.KeepRuns,
		MaxCandidates:   cfg.Rotation.MaxCandidates,
	}
}

// TemplateFinder finds a template by name in dir (may be empty), then
// among the shipped ones, as templates.Find does, and refuses one with
// errors; warnings are not reported.
func TemplateFinder(dir string) func(name string) (*templates.Template, error) {
	return func(name string) (*templates.Template, error) {
		tpl, diags := templates.Find(name, dir)
		if err := diags.Err(); err != nil {
			return nil, err
		}
		return tpl, nil
	}
}
