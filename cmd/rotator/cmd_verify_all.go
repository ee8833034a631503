package main

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/rotator-pam/rotator/internal/clip"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// stepHealth is one template step across the accounts verified.
type stepHealth struct {
	flow, path, desc string
	ok, failed       int
	// matched counts each selector alternative that found the element.
	matched map[string]int
	// late is set when an alternative other than the first matched.
	late bool
}

func runVerifyAll(ctx context.Context, a *app, s *store.Store, r *rotator.Rotator) error {
	accts, err := s.Accounts(ctx)
	if err != nil {
		return err
	}
	if len(accts) == 0 {
		return errors.New("no accounts to verify")
	}
	r.OnStep = nil // the report below says it all
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
		tpl, terr := r.Templates(tn)
		steps := map[string]*stepHealth{}
		var order []string
		var results []string
		signedIn := 0
		for _, acct := range byTemplate[tn] {
			if acct.State == store.StateNeedsOperator {
				results = append(results, acct.Name+": skipped (needs an operator)")
				continue
			}
			fmt.Fprintf(a.stderr, "verifying %s (%s)...\n", acct.Name, tn)
			res, err := r.Verify(ctx, acct.Name)
			switch {
			case err != nil:
				bad++
				results = append(results, acct.Name+": "+err.Error())
				continue
			case res.Outcome == rotation.Succeeded:
				signedIn++
				results = append(results, acct.Name+": signed in")
			default:
				bad++
				results = append(results, fmt.Sprintf("%s: %s: %s", acct.Name, res.Outcome, res.Reason))
			}
			run, err := s.Run(ctx, res.RunID)
			if err != nil {
				continue
			}
			for _, st := range run.Steps {
				if st.Kind == "" { // a note (a resolved challenge)
					continue
				}
				key := st.Flow + " " + st.Step
				h, ok := steps[key]
				if !ok {
					h = &stepHealth{flow: st.Flow, path: st.Step, desc: st.Kind, matched: map[string]int{}}
					if terr == nil {
						if ts, ok := stepAt(tpl, st.Flow, st.Step); ok {
							h.desc = ts.Describe()
							if st.Matched != "" && ts.Target != nil && len(ts.Target.Alternatives) > 1 && ts.Target.Alternatives[0].Raw != st.Matched {
								h.late = true
							}
						}
					}
					steps[key] = h
					order = append(order, key)
				} else if terr == nil && st.Matched != "" {
					if ts, ok := stepAt(tpl, st.Flow, st.Step); ok && ts.Target != nil && len(ts.Target.Alternatives) > 1 && ts.Target.Alternatives[0].Raw != st.Matched {
						h.late = true
					}
				}
				if st.OK {
					h.ok++
				} else {
					h.failed++
				}
				if st.Matched != "" {
					h.matched[st.Matched]++
				}
			}
		}
		sort.SliceStable(order, func(i, j int) bool { return stepLess(steps[order[i]], steps[order[j]]) })
		fmt.Fprintf(a.stdout, "template %s: %d of %d account(s) signed in\n", tn, signedIn, len(byTemplate[tn]))
		for _, k := range order {
			h := steps[k]
			status := "ok"
			if h.failed > 0 {
				status = "FAILED"
			}
			var m []string
			for sel, n := range h.matched {
				m = append(m, fmt.Sprintf("%s x%d", sel, n))
			}
			sort.Strings(m)
			line := fmt.Sprintf("  %-6s %-9s %-45s %d/%d %s", h.flow, h.path, clip.String(h.desc, 45), h.ok, h.ok+h.failed, status)
			if len(m) > 0 {
				line += "  matched " + strings.Join(m, ", ")
			}
			if h.late {
				line += "  <- not the first alternative: the page may have changed"
			}
			fmt.Fprintln(a.stdout, line)
		}
		for _, r := range results {
			fmt.Fprintln(a.stdout, "  "+r)
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d account(s) did not sign in", bad)
	}
	return nil
}

// stepAt finds a step by its report path: "3", "5.then.1", "6.2" (in a
// frame).
func stepAt(tpl *templates.Template, flow, path string) (templates.Step, bool) {
	steps, ok := tpl.Flows.Get(flow)
	if !ok {
		return templates.Step{}, false
	}
	parts := strings.Split(path, ".")
	var cur templates.Step
	for i := 0; i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 1 || n > len(steps) {
			return templates.Step{}, false
		}
		cur = steps[n-1]
		if i+1 < len(parts) {
			switch parts[i+1] {
			case "then":
				steps, i = cur.Then, i+1
			case "else":
				steps, i = cur.Else, i+1
			default:
				steps = cur.Steps
			}
		}
	}
	return cur, true
}

var flowRank = map[string]int{templates.FlowLogin: 0, templates.FlowChange: 1, templates.FlowLogout: 2, templates.FlowVerify: 3}

// stepLess orders steps by flow, then as they appear in the template.
func stepLess(a, b *stepHealth) bool {
	if a.flow != b.flow {
		return flowRank[a.flow] < flowRank[b.flow]
	}
	pa, pb := strings.Split(a.path, "."), strings.Split(b.path, ".")
	for i := 0; i < len(pa) && i < len(pb); i++ {
		if pa[i] == pb[i] {
			continue
		}
		na, ea := strconv.Atoi(pa[i])
		nb, eb := strconv.Atoi(pb[i])
		if ea == nil && eb == nil {
			return na < nb
		}
		return pa[i] > pb[i] // "then" before "else"
	}
	return len(pa) < len(pb)
}
