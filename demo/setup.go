package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/datadir"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// Env is a demo set up: its site on loopback, its vault, and its accounts
// seeded in both.
type Env struct {
	*Demo
	Store   *store.Store
	SiteURL string
	// Token is the console's access token, to show once.
	Token string
	// Logger writes the demo's log, JSON, to LogPath (demo.log in the
	// data folder), for the scheduler it runs.
	Logger   *slog.Logger
	LogPath  string
	log      *os.File
	stopSite func()
}

// Setup makes the demo in cfg.DataDir, as Configure set it: the folder, a
// site on loopback, a master key and a vault (datadir.NewVault, in actor's
// name, on the clock now), and the accounts seeded (Seed). It refuses before
// anything starts when no Chromium is on PATH (a configured browser.bin is
// not looked up: if it is missing, the first rotation says so), and when
// the folder already holds a vault: the demo needs a fresh one.
func Setup(ctx context.Context, cfg config.Config, actor string, now func() time.Time) (*Env, error) {
	if cfg.Browser.Bin == "" {
		if _, err := browser.FindChromium(""); err != nil {
			return nil, err
		}
	}
	if _, err := os.Stat(cfg.VaultPath()); err == nil {
		return nil, fmt.Errorf("%s already holds a vault: the demo needs a fresh data directory", cfg.DataDir)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, err
	}
	site, siteURL, stopSite, err := StartSite()
	if err != nil {
		return nil, err
	}
	e := &Env{SiteURL: siteURL, stopSite: stopSite}
	key, err := secret.CreateKeyFile(cfg.MasterKeyFile)
	if err != nil {
		stopSite()
		return nil, err
	}
	// NewVault closes the store it returns with an error.
	s, token, err := datadir.NewVault(ctx, cfg, key, actor, store.WithClock(now))
	if err != nil {
		stopSite()
		return nil, err
	}
	e.Store, e.Token = s, token
	if e.Demo, err = Seed(ctx, site, s, siteURL, now); err != nil {
		e.Close()
		return nil, err
	}
	e.LogPath = filepath.Join(cfg.DataDir, "demo.log")
	if e.log, err = os.OpenFile(e.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600); err != nil {
		e.Close()
		return nil, err
	}
	e.Logger = slog.New(slog.NewJSONHandler(e.log, nil))
	return e, nil
}

// Close closes the log and the vault, and stops the site.
func (e *Env) Close() {
	if e.log != nil {
		e.log.Close()
	}
	e.Store.Close()
	e.stopSite()
}

// Finish follows the demo while the scheduler runs it (Wait, drawing each
// look on t) until its accounts are done or timeout passed, checks them on
// the site (Check), shows the summary on t, and returns the row of the
// account that waits for an operator. It fails when a check did.
func (e *Env) Finish(ctx context.Context, timeout time.Duration, t *Table) (Row, error) {
	rows, err := e.Wait(ctx, timeout, t.Draw)
	if err != nil {
		return Row{}, err
	}
	// Verified on the site: its password is the vault's new one.
	rows, ok, err := e.Check(ctx, rows)
	if err != nil {
		return Row{}, err
	}
	t.Summary(rows)
	if !ok {
		return Row{}, errors.New("the demo did not complete: see the table above and " + e.LogPath)
	}
	return Flagged(rows), nil
}
