package rotator

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// Fleet is what VerifyAll reads besides the Store: every account, and the
// steps each verification recorded.
type Fleet interface {
	Accounts(ctx context.Context) ([]store.Account, error)
	Run(ctx context.Context, id int64) (store.Run, error)
}

var _ Fleet = (*store.Store)(nil)

// TemplateHealth is how one template's steps fared across its accounts'
// verifications: a site's redesign shows in it before the next scheduled
// change fails.
type TemplateHealth struct {
	Template string
	// Accounts counts the template's accounts, SignedIn those whose
	// verification succeeded.
	Accounts, SignedIn int
	// Steps are ordered by flow (login, change, logout, verify), then as
	// they appear in the template.
	Steps []StepHealth
	// Results say how each account's verification ended, in order.
	Results []AccountCheck
}

// StepHealth is one template step across the accounts verified.
type StepHealth struct {
	Flow string
	Path browser.StepPath
	// Desc describes the step ("fill #username"), or names its kind when
	// the template cannot be read.
	Desc       string
	OK, Failed int
	// Matched counts each selector alternative that found the element.
	Matched map[string]int
	// Late is set when an alternative other than the first matched: the
	// page may have changed.
	Late bool
}

// AccountCheck is how one account's verification ended: "signed in",
// "skipped (needs an operator)", or why it did not sign in.
type AccountCheck struct {
	Account string
	Status  string
}

// VerifyAll signs in to every account, template by template in name order,
// and reports per template which steps passed and which selector
// alternative matched each. Accounts waiting for an operator are skipped.
// before, when set, is called as each account starts, and done with each
// template's report as it is complete. It returns an error when there is
// no account, or when any account did not sign in.
func (r *Rotator) VerifyAll(ctx context.Context, fleet Fleet, before func(store.Account), done func(TemplateHealth)) error {
	accts, err := fleet.Accounts(ctx)
	if err != nil {
		return err
	}
	if len(accts) == 0 {
		return errors.New("no accounts to verify")
	}
	byTemplate := map[string][]store.Account{}
	for _, acct := range accts {
		byTemplate[acct.Template] = append(byTemplate[acct.Template], acct)
	}
	names := make([]string, 0, len(byTemplate))
	for n := range byTemplate {
		names = append(names, n)
	}
	sort.Strings(names)
	bad := 0
	for _, tn := range names {
		h, failed := r.verifyTemplate(ctx, fleet, tn, byTemplate[tn], before)
		bad += failed
		if done != nil {
			done(h)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d account(s) did not sign in", bad)
	}
	return nil
}

// verifyTemplate verifies the accounts of one template and counts those
// that did not sign in.
func (r *Rotator) verifyTemplate(ctx context.Context, fleet Fleet, name string, accts []store.Account, before func(store.Account)) (TemplateHealth, int) {
	h := TemplateHealth{Template: name, Accounts: len(accts)}
	tpl, err := r.Templates(name)
	if err != nil {
		tpl = nil // the steps are described by their kind
	}
	steps := stepTally{tpl: tpl, byKey: map[string]*StepHealth{}}
	bad := 0
	for _, acct := range accts {
		if acct.State == store.StateNeedsOperator {
			h.Results = append(h.Results, AccountCheck{acct.Name, "skipped (needs an operator)"})
			continue
		}
		if before != nil {
			before(acct)
		}
		res, err := r.Verify(ctx, acct.Name)
		switch {
		case err != nil:
			bad++
			h.Results = append(h.Results, AccountCheck{acct.Name, err.Error()})
			continue
		case res.Outcome == rotation.Succeeded:
			h.SignedIn++
			h.Results = append(h.Results, AccountCheck{acct.Name, "signed in"})
		default:
			bad++
			h.Results = append(h.Results, AccountCheck{acct.Name, fmt.Sprintf("%s: %s", res.Outcome, res.Reason)})
		}
		if run, err := fleet.Run(ctx, res.RunID); err == nil {
			steps.add(run.Steps)
		}
	}
	h.Steps = steps.sorted()
	return h, bad
}

// stepTally adds up the recorded steps of one template's verifications.
type stepTally struct {
	tpl   *templates.Template // nil when it cannot be read
	byKey map[string]*StepHealth
	order []*StepHealth
}

func (t *stepTally) add(recorded []store.RunStep) {
	for _, st := range recorded {
		if st.Kind == "" { // a note (a resolved challenge)
			continue
		}
		key := st.Flow + " " + st.Step
		h, ok := t.byKey[key]
		path, perr := browser.ParseStepPath(st.Step)
		ts, found := templates.Step{}, false
		if t.tpl != nil && perr == nil {
			if flow, ok := t.tpl.Flows.Get(st.Flow); ok {
				ts, found = path.Lookup(flow)
			}
		}
		if !ok {
			h = &StepHealth{Flow: st.Flow, Path: path, Desc: st.Kind, Matched: map[string]int{}}
			if found {
				h.Desc = ts.Describe()
			}
			t.byKey[key] = h
			t.order = append(t.order, h)
		}
		if found && st.Matched != "" && ts.Target != nil && len(ts.Target.Alternatives) > 1 && ts.Target.Alternatives[0].Raw != st.Matched {
			h.Late = true
		}
		if st.OK {
			h.OK++
		} else {
			h.Failed++
		}
		if st.Matched != "" {
			h.Matched[st.Matched]++
		}
	}
}

// flowRank orders the flows as a rotation runs them.
func flowRank(flow string) int {
	switch flow {
	case templates.FlowLogin:
		return 0
	case templates.FlowChange:
		return 1
	case templates.FlowLogout:
		return 2
	case templates.FlowVerify:
		return 3
	}
	return 0
}

// sorted orders the steps by flow, then as they appear in the template.
func (t *stepTally) sorted() []StepHealth {
	sort.SliceStable(t.order, func(i, j int) bool {
		a, b := t.order[i], t.order[j]
		if a.Flow != b.Flow {
			return flowRank(a.Flow) < flowRank(b.Flow)
		}
		return a.Path.Less(b.Path)
	})
	out := make([]StepHealth, len(t.order))
	for i, h := range t.order {
		out[i] = *h
	}
	return out
}
