package rotator

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/templates"
)

// TemplateTest is a template author's dry run: flows of a template run for
// an account of the vault, changing nothing.
type TemplateTest struct {
	Account  string
	Template *templates.Template
	// Flow is login (sign in), logout (sign in and out) or verify (sign
	// in, then the verify flow, or logout and login again without one).
	// Changing the password is a rotation, not a test: Rotate.
	Flow string
	// ArtifactDir receives the screenshots and pages (default: a folder
	// of its own under the account's artifacts).
	ArtifactDir string
	// Ready is told once the browser is open, OnFlow as each flow starts,
	// OnStep after each step.
	Ready  func()
	OnFlow func(flow string)
	OnStep func(browser.StepReport)
}

// TemplateTestFlows are the flows a TemplateTest of flow runs before it
// knows the template (verify may become login, logout, login).
func TemplateTestFlows(flow string) ([]string, error) {
	switch flow {
	case templates.FlowLogin:
		return []string{templates.FlowLogin}, nil
	case templates.FlowLogout:
		return []string{templates.FlowLogin, templates.FlowLogout}, nil
	case templates.FlowVerify:
		return []string{templates.FlowLogin, templates.FlowVerify}, nil
	}
	return nil, fmt.Errorf("flow %q: a test runs login, logout or verify", flow)
}

// RunTemplateTest runs t's flows in a session of the rotator's Opener, with
// the values a rotation gives them: the account's username, current
// password, template parameters and fresh TOTP codes under the vault's
// replay guard. A verify flow's {{ new_password }} is the current password,
// as it is the password just set when a rotation verifies. The account's
// saved browser state is loaded but not saved back: a test leaves the vault
// as it was (save for the TOTP steps it used). It takes no lease and
// records no run. It returns the first flow's *browser.StepError or
// *browser.ChallengeError, or nil.
func (r *Rotator) RunTemplateTest(ctx context.Context, t TemplateTest) error {
	flows, err := TemplateTestFlows(t.Flow)
	if err != nil {
		return err
	}
	acct, err := r.Store.Account(ctx, t.Account)
	if err != nil {
		return err
	}
	pw, err := r.Store.Password(ctx, acct.Name)
	if err != nil {
		return err
	}
	dir := t.ArtifactDir
	if dir == "" && r.ArtifactDir != nil {
		dir = filepath.Join(r.ArtifactDir(acct.Name), r.now().UTC().Format("20060102T150405Z")+"-test-"+t.Flow)
	}
	opener, err := readOnlyState(r.Opener)
	if err != nil {
		return err
	}
	sess, err := opener.Open(ctx, acct, t.Template, Hooks{ArtifactDir: dir, OnStep: t.OnStep})
	if err != nil {
		return err
	}
	defer sess.Close()
	if t.Ready != nil {
		t.Ready()
	}
	if t.Flow == templates.FlowVerify && t.Template.Flows.Verify == nil {
		// The default verify: log out, then log in again.
		if t.Template.Flows.Logout == nil {
			return fmt.Errorf("template %s has neither a verify nor a logout flow", t.Template.Name)
		}
		flows = []string{templates.FlowLogin, templates.FlowLogout, templates.FlowLogin}
	}
	a := &attempt{r: r, name: acct.Name, acct: acct, tpl: t.Template}
	vals := a.values(pw, pw)
	for _, flow := range flows {
		if t.OnFlow != nil {
			t.OnFlow(flow)
		}
		if err := sess.Run(ctx, flow, vals); err != nil {
			return err
		}
	}
	return nil
}

// readOnlyState is o with the account's browser state loaded but never
// saved. Only the browser's opener keeps state; any other opener is
// refused rather than trusted to save nothing.
func readOnlyState(o Opener) (Opener, error) {
	switch bo := o.(type) {
	case BrowserOpener:
		if bo.State != nil {
			bo.State = loadOnly{bo.State}
		}
		return bo, nil
	case *BrowserOpener:
		return readOnlyState(*bo)
	}
	return nil, fmt.Errorf("template test: the opener %T may save the account's browser state", o)
}

// loadOnly passes on reads of the browser state and drops writes.
type loadOnly struct{ BrowserState }

func (loadOnly) SetCookies(context.Context, string, []byte) error { return nil }

var _ BrowserState = loadOnly{}
