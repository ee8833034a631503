// Package demo is the one-command demo's scenario, `rotator demo`: four
// accounts on the demo social site (a password only; TOTP; a two-step
// sign-in with TOTP; one that meets a CAPTCHA), seeded in the site and in a
// fresh vault to match, their rotations followed as the scheduler runs
// them, and each outcome checked against the site: the three unattended
// accounts must hold the vault's new password on the site, the flagged one
// its first password, unchanged.
//
// It is a package of its own, not part of demosite: the site is a fake web
// site that the rotator's own tests drive, and knows nothing of vaults or
// rotations. Setup makes the demo's site and vault; Table is its view of
// the progress. The command line wires the server and prints the rest.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// Template is the shipped template the demo's accounts use.
const Template = "demo-social"

// Account is one account of the demo.
type Account struct {
	Name, Kind    string
	TwoStep, TOTP bool
	// Flagged accounts meet a CAPTCHA: they wait for an operator.
	Flagged bool
}

// Accounts are the demo's accounts, in the order the table shows them.
func Accounts() []Account {
	return []Account{
		{Name: "alice", Kind: "password"},
		{Name: "bob", Kind: "password + TOTP", TOTP: true},
		{Name: "carol", Kind: "two-step + TOTP", TwoStep: true, TOTP: true},
		{Name: "dora", Kind: "CAPTCHA", Flagged: true},
	}
}

// Configure sets cfg up for a demo in dir: three browsers at once against a
// site of its own, no jitter (and Seed makes every account due at once): the
// demo shows a day's work in a minute. The console listens on addr. Without an operator
// to come, a challenge keeps no browser and flags at once.
func Configure(cfg *config.Config, dir, addr string, operator bool) {
	cfg.DataDir, cfg.MasterKeyFile = dir, filepath.Join(dir, config.MasterKeyFile)
	// The demo's vault is always a file of its own: a store.url set for
	// production must not receive demo accounts.
	cfg.Store.URL = ""
	cfg.Serve.Addr, cfg.Serve.PerSite, cfg.Serve.MaxConcurrent = addr, 3, 3
	cfg.Schedule.Jitter, cfg.Schedule.Default = 0, "@daily"
	cfg.Serve.ShutdownTimeout = 10 * time.Second
	if !operator {
		cfg.Console.MaxHeld = 0
	}
}

// StartSite serves a demo site on a free loopback port. It returns the site,
// its address and the function that stops it.
func StartSite() (*demosite.Site, string, func(), error) {
	site := demosite.New(demosite.Options{ChangesPerDay: 2})
	srv, err := demosite.Listen("127.0.0.1:0", site)
	if err != nil {
		return nil, "", nil, err
	}
	return site, srv.URL(), func() { srv.Close() }, nil
}

// Vault is what the demo needs of the vault.
type Vault interface {
	AddAccount(ctx context.Context, a store.NewAccount) error
	SetNextDue(ctx context.Context, name string, due time.Time, failures int, hold string) error
	Runs(ctx context.Context, account string, limit int) ([]store.Run, error)
	Password(ctx context.Context, name string) (secret.String, error)
}

var _ Vault = (*store.Store)(nil)

// Demo is a seeded demo: its accounts' progress, from the rotator's
// reports and the vault's run records.
type Demo struct {
	site     *demosite.Site
	vault    Vault
	now      func() time.Time
	accounts []Account
	// first holds each account's password as seeded.
	first map[string]string
	// fatal receives the first failure no retry cures.
	fatal chan error

	mu   sync.Mutex
	rows map[string]*Row
}

// Row is one account's progress.
type Row struct {
	Account
	// Step is the last step reported: "login 5.then.1 fill".
	Step string
	// State is queued, running, paused, or the outcome.
	State   string
	Started time.Time
	// Took is the finished run's duration.
	Took    time.Duration
	Outcome rotation.Outcome
	Reason  string
	// Site is what the site says, once Check ran.
	Site string
}

// Elapsed is how long the account's rotation took, or has run by now.
func (r Row) Elapsed(now time.Time) time.Duration {
	if r.Took == 0 && !r.Started.IsZero() {
		return now.Sub(r.Started)
	}
	return r.Took
}

// Seed adds each of the demo's accounts to the site and to the vault (on
// the site at siteURL), with a password of the template's rules and, for
// the TOTP ones, a fresh secret, each due now.
func Seed(ctx context.Context, site *demosite.Site, v Vault, siteURL string, now func() time.Time) (*Demo, error) {
	tpl, err := rotator.TemplateFinder("")(Template)
	if err != nil {
		return nil, err
	}
	d := &Demo{site: site, vault: v, now: now, accounts: Accounts(), first: map[string]string{},
		fatal: make(chan error, 1), rows: map[string]*Row{}}
	for _, a := range d.accounts {
		if err := d.seed(ctx, tpl, a, siteURL); err != nil {
			return nil, fmt.Errorf("seed the demo account %s: %w", a.Name, err)
		}
		d.rows[a.Name] = &Row{Account: a, State: "queued"}
	}
	return d, nil
}

func (d *Demo) seed(ctx context.Context, tpl *templates.Template, a Account, siteURL string) error {
	pw, err := rotator.GeneratePassword(tpl.Rules, nil)
	if err != nil {
		return err
	}
	spec := demosite.UserSpec{Name: a.Name, Password: pw.Reveal(), TwoStep: a.TwoStep, Captcha: a.Flagged}
	acct := store.NewAccount{Account: store.Account{Name: a.Name, Template: Template, Username: a.Name, SiteURL: siteURL},
		Password: pw}
	if a.TOTP {
		raw := make([]byte, 20)
		rand.Read(raw)
		spec.TOTPSecret = base32.StdEncoding.EncodeToString(raw)
		k, err := otp.ParseSecret(spec.TOTPSecret)
		if err != nil {
			return err
		}
		acct.TOTP = &store.TOTP{Key: k}
	}
	if err := d.site.AddUser(spec); err != nil {
		return err
	}
	if err := d.vault.AddAccount(ctx, acct); err != nil {
		return err
	}
	d.first[a.Name] = spec.Password
	// Due now, not tomorrow.
	return d.vault.SetNextDue(ctx, a.Name, d.now(), 0, "")
}

// Follow makes r report its steps and events to the demo, and the first
// failure to open a browser that no retry cures (no Chromium) end Wait at
// once. Call it before r runs anything.
func (d *Demo) Follow(r *rotator.Rotator) {
	r.OnStep = d.step
	r.OnEvent = d.event
	r.Opener = permanentFailures{Opener: r.Opener, fatal: d.fatal}
}

func (d *Demo) step(account string, rep browser.StepReport) {
	d.mu.Lock()
	defer d.mu.Unlock()
	r, ok := d.rows[account]
	if !ok {
		return
	}
	if r.Started.IsZero() {
		r.Started = d.now().Add(-rep.Duration)
	}
	if r.State == "queued" {
		r.State = "running"
	}
	desc := string(rep.Step.Kind)
	if desc == "" {
		desc = rep.Note
	}
	r.Step = fmt.Sprintf("%s %s %s", rep.Flow, rep.Path, desc)
}

func (d *Demo) event(account, msg string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r, ok := d.rows[account]; ok && strings.HasPrefix(msg, "paused") {
		r.State = "paused"
	}
}

// permanentFailures passes on the sessions of an Opener, and reports to
// fatal the first failure to open one that no retry will cure.
type permanentFailures struct {
	rotator.Opener
	fatal chan<- error
}

func (o permanentFailures) Open(ctx context.Context, acct store.Account, tpl *templates.Template, hooks rotator.Hooks) (rotator.Session, error) {
	sess, err := o.Opener.Open(ctx, acct, tpl, hooks)
	if errors.Is(err, browser.ErrNoChromium) {
		select {
		case o.fatal <- err:
		default:
		}
	}
	return sess, err
}

// Rows are the accounts' progress now, in the order of Accounts.
func (d *Demo) Rows() []Row {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make([]Row, 0, len(d.accounts))
	for _, a := range d.accounts {
		out = append(out, *d.rows[a.Name])
	}
	return out
}

// Wait follows the vault until every unattended account finished its
// rotation and the flagged one is paused, calling show with the rows after
// each look (four times a second). A failure no retry cures ends it at
// once; so does timeout, with the rows as they are.
func (d *Demo) Wait(ctx context.Context, timeout time.Duration, show func([]Row)) ([]Row, error) {
	deadline := d.now().Add(timeout)
	for {
		done, err := d.poll(ctx)
		if err != nil {
			return nil, err
		}
		show(d.Rows())
		if done {
			return d.Rows(), nil
		}
		if d.now().After(deadline) {
			return d.Rows(), fmt.Errorf("the demo did not finish within %v", timeout)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case err := <-d.fatal:
			show(d.Rows())
			return nil, fmt.Errorf("the demo cannot rotate: %w", err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// poll reads each account's last run and reports whether all are done.
func (d *Demo) poll(ctx context.Context) (bool, error) {
	done := true
	for _, a := range d.accounts {
		runs, err := d.vault.Runs(ctx, a.Name, 1)
		if err != nil {
			return false, err
		}
		d.mu.Lock()
		r := d.rows[a.Name]
		if len(runs) > 0 && runs[0].Kind == rotation.Rotate && runs[0].Outcome != rotation.Running {
			r.Outcome, r.Reason, r.State = runs[0].Outcome, runs[0].Reason, string(runs[0].Outcome)
			r.Took = runs[0].Took()
		}
		if r.Outcome == "" || (a.Flagged && r.Outcome != rotation.Paused) {
			done = false
		}
		d.mu.Unlock()
	}
	return done, nil
}

// Check holds each finished account against the site: an unattended one
// must have succeeded, changed its password on the site once, and the
// site must hold the vault's password; the flagged one must hold its first
// password on both. It fills each row's Site and reports whether all
// passed.
func (d *Demo) Check(ctx context.Context, rows []Row) ([]Row, bool, error) {
	ok := true
	for i := range rows {
		r := &rows[i]
		st, _ := d.site.User(r.Name)
		cur, err := d.vault.Password(ctx, r.Name)
		if err != nil {
			return rows, false, err
		}
		switch {
		case r.Flagged:
			r.Site = "password unchanged, as it must be"
			if st.Password != cur.Reveal() || st.ChangesToday != 0 {
				r.Site, ok = "the site and the vault disagree", false
			}
		case r.Outcome != rotation.Succeeded:
			ok = false
		case st.Password == cur.Reveal() && st.Password != d.first[r.Name] && st.ChangesToday == 1:
			r.Site = "new password verified on the site"
		default:
			r.Site, ok = "the site does not hold the vault's password", false
		}
	}
	return rows, ok, nil
}

// Flagged is the row of the account that waits for an operator.
func Flagged(rows []Row) Row {
	for _, r := range rows {
		if r.Flagged {
			return r
		}
	}
	return Row{}
}
