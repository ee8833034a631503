package rotator

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// behaviour is what the fake site does with one submitted change.
type behaviour int

const (
	accept     behaviour = iota // changes, confirms
	refuse                      // refuses, shows a rejection
	silent                      // refuses, yet confirms (a lie)
	lying                       // changes, yet shows a rejection (a lie)
	storeOther                  // changes to something other than typed, confirms
	timeout                     // changes, then the flow times out: no confirmation, no rejection
	brokenForm                  // the change flow fails before anything is typed
)

func (b behaviour) String() string {
	return [...]string{"accept", "refuse", "silent", "lying", "storeOther", "timeout", "brokenForm"}[b]
}

// errCrash is the process dying at a step boundary.
var errCrash = errors.New("crash")

// fakeSite is a site that holds one password, for rotations through a
// fakeSession: it records what it was sent and can lie, time out, or crash
// the rotator at a step boundary.
type fakeSite struct {
	mu       sync.Mutex
	password string
	// passwords lists every password the site has held, in order.
	passwords []string
	signedIn  bool
	// behave says what the site does with the nth change (from 1).
	behave  func(n int) behaviour
	changes int
	// failed counts failed sign-ins; logins lists every password tried.
	failed int
	logins []string
	// submitted counts the changes to each value; refused holds the
	// values the site refused.
	submitted map[string]int
	refused   map[string]bool
	// told counts, for each refused value, its submissions when the
	// rotator was told of the refusal (Rejected said so).
	told      map[string]int
	lastTyped string
	rejecting bool
	// crashAt is the step boundary (from 1) at which the rotator dies
	// (0: never); onCrash is told once.
	crashAt, boundaries int
	crashed             bool
	onCrash             func()
	// gate, when set, holds every change until it is closed; waiting, when
	// set, is told each time a change starts to wait.
	gate, waiting chan struct{}
	// challenge, when set, puts a CAPTCHA on every sign-in.
	challenge bool
	// logoutFails makes the logout flow fail at its first step; with
	// logoutSignsOut it has signed out all the same (a GET /logout page
	// with nothing left to click), else the session stays signed in and
	// the sign-in form is not there.
	logoutFails, logoutSignsOut bool
}

func newFakeSite(password string, behave func(int) behaviour) *fakeSite {
	if behave == nil {
		behave = func(int) behaviour { return accept }
	}
	return &fakeSite{password: password, passwords: []string{password}, behave: behave, submitted: map[string]int{}, refused: map[string]bool{}, told: map[string]int{}}
}

// boundary is a step boundary: it fails from the crash on. Call with mu
// held.
func (s *fakeSite) boundary() error {
	if s.crashed {
		return errCrash
	}
	s.boundaries++
	if s.crashAt > 0 && s.boundaries == s.crashAt {
		s.crashed = true
		if s.onCrash != nil {
			s.onCrash()
		}
		return errCrash
	}
	return nil
}

func (s *fakeSite) state() (password string, failed int, crashed bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.password, s.failed, s.crashed
}

type fakeOpener struct{ site *fakeSite }

func (o fakeOpener) Open(_ context.Context, _ store.Account, _ *templates.Template, hooks Hooks) (Session, error) {
	return &fakeSession{site: o.site, hooks: hooks}, nil
}

type fakeSession struct {
	site  *fakeSite
	hooks Hooks
}

// report tells the rotator a change step ran, as the browser engine does.
func (f *fakeSession) report(kind templates.StepKind, err error) {
	if f.hooks.OnStep != nil {
		f.hooks.OnStep(browser.StepReport{Flow: templates.FlowChange, Step: templates.Step{Kind: kind}, Err: err})
	}
}

func (f *fakeSession) Run(ctx context.Context, flow string, vals browser.Values) error {
	s := f.site
	if flow == templates.FlowChange && s.gate != nil {
		if s.waiting != nil {
			s.waiting <- struct{}{}
		}
		select {
		case <-s.gate:
		case <-ctx.Done():
			return fmt.Errorf("change: %w", ctx.Err())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.boundary(); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", flow, err)
	}
	switch flow {
	case templates.FlowLogin:
		if s.logoutFails && !s.logoutSignsOut && s.signedIn {
			return &browser.StepError{Flow: flow, Path: "2", Step: templates.Step{Kind: templates.StepFill}, Err: errors.New("no #username on the page")}
		}
		if s.challenge {
			return &browser.ChallengeError{Kind: "captcha", Name: "fake-captcha", Flow: flow, Step: "2"}
		}
		s.logins = append(s.logins, vals.Password.Reveal())
		if vals.Password.Reveal() != s.password {
			s.failed++
			s.signedIn = false
			return errors.New("login: the page says the password is wrong")
		}
		s.signedIn = true
		return nil
	case templates.FlowLogout:
		if s.logoutFails {
			s.signedIn = s.signedIn && !s.logoutSignsOut
			return &browser.StepError{Flow: flow, Path: "1", Step: templates.Step{Kind: templates.StepClick}, Err: errors.New("no a#logout on the page")}
		}
		s.signedIn = false
		return nil
	case templates.FlowChange:
		if !s.signedIn || vals.Password.Reveal() != s.password {
			return errors.New("change: not signed in")
		}
		s.changes++
		b := s.behave(s.changes)
		f.report(templates.StepGoto, nil)
		if b == brokenForm {
			err := errors.New("change: wait_for: the form did not appear")
			f.report(templates.StepWaitFor, err)
			return err
		}
		f.report(templates.StepFill, nil)
		f.report(templates.StepClick, nil)
		typed := vals.NewPassword.Reveal()
		s.submitted[typed]++
		s.lastTyped = typed
		s.rejecting = b == refuse || b == lying
		switch b {
		case accept, lying, timeout:
			s.password = typed
		case storeOther:
			s.password = typed + "~"
		case refuse:
			s.refused[typed] = true
		}
		if s.password != s.passwords[len(s.passwords)-1] {
			s.passwords = append(s.passwords, s.password)
		}
		// The form is submitted: a crash here loses the page's answer.
		if err := s.boundary(); err != nil {
			return err
		}
		switch b {
		case refuse, lying:
			return errors.New("change: the page shows an error")
		case timeout:
			return fmt.Errorf("change: wait for the confirmation: %w", context.DeadlineExceeded)
		}
		return nil
	}
	return fmt.Errorf("%s: no such flow", flow)
}

func (f *fakeSession) TryLogout(context.Context) {
	f.site.mu.Lock()
	defer f.site.mu.Unlock()
	if f.site.boundary() == nil {
		f.site.signedIn = false
	}
}

func (f *fakeSession) Rejected(context.Context) (bool, error) {
	f.site.mu.Lock()
	defer f.site.mu.Unlock()
	if err := f.site.boundary(); err != nil {
		return false, err
	}
	if f.site.rejecting && f.site.refused[f.site.lastTyped] {
		f.site.told[f.site.lastTyped] = f.site.submitted[f.site.lastTyped]
	}
	return f.site.rejecting, nil
}

func (f *fakeSession) Close() error { return nil }

var _ Session = (*fakeSession)(nil)

// fakeTemplate has no verify flow: verifying signs out and in.
func fakeTemplate() *templates.Template {
	return &templates.Template{Name: "fake", BaseURL: "https://fake.example"}
}

func vaultPath(dir string) string { return filepath.Join(dir, "vault.db") }
