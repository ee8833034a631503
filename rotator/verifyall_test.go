package rotator

import (
	"context"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// TestVerifyAllReportsSteps: after a redesign, the report says which steps
// only a later alternative found; an account whose password the site no
// longer takes fails the run; one waiting for an operator is skipped.
func TestVerifyAllReportsSteps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	e.add(demosite.UserSpec{Name: "carl", Password: "Carl-pass-12345", TwoStep: true})
	e.add(demosite.UserSpec{Name: "dora", Password: "Dora-pass-12345"})
	// A password the site no longer takes fails the run, with its step.
	e.site.AddUser(demosite.UserSpec{Name: "dan", Password: "Dan-pass-123456"})
	if err := e.store.AddAccount(context.Background(), store.NewAccount{Account: store.Account{Name: "dan", Template: "demo-social",
		Username: "dan", SiteURL: e.srv.URL + "/"}, Password: secret.New("Wrong-pass-1234")}); err != nil {
		t.Fatal(err)
	}
	e.site.SetLayout("v2")
	if err := e.store.Flag(context.Background(), "dora", store.StateNeedsOperator, "test"); err != nil {
		t.Fatal(err)
	}
	var started []string
	var reports []TemplateHealth
	err := e.rot.VerifyAll(ctxFor(t), e.store, func(a store.Account) { started = append(started, a.Name) },
		func(h TemplateHealth) { reports = append(reports, h) })
	if err == nil || err.Error() != "1 account(s) did not sign in" {
		t.Errorf("got %v, want 1 account(s) did not sign in", err)
	}
	if strings.Join(started, ",") != "alice,carl,dan" || len(reports) != 1 {
		t.Fatalf("started %v, reports %+v", started, reports)
	}
	h := reports[0]
	if h.Template != "demo-social" || h.Accounts != 4 || h.SignedIn != 2 {
		t.Errorf("%+v", h)
	}
	want := map[string]string{"alice": "signed in", "carl": "signed in", "dora": "skipped (needs an operator)"}
	if len(h.Results) != 4 {
		t.Errorf("%d results, want 4: %+v", len(h.Results), h.Results)
	}
	for _, r := range h.Results {
		if r.Account == "dan" {
			if !strings.HasPrefix(r.Status, "failed: login flow, step") {
				t.Errorf("dan: %q", r.Status)
			}
		} else if want[r.Account] != r.Status {
			t.Errorf("%s: %q, want %q", r.Account, r.Status, want[r.Account])
		}
	}
	var fill *StepHealth
	for i, st := range h.Steps {
		if i > 0 && flowRank(st.Flow) == flowRank(h.Steps[i-1].Flow) && st.Path.Less(h.Steps[i-1].Path) {
			t.Errorf("step %s %s after %s", st.Flow, st.Path, h.Steps[i-1].Path)
		}
		if st.Flow == "login" && st.Path.String() == "2" {
			fill = &h.Steps[i]
		}
	}
	if fill == nil || fill.Desc != "fill [#username | #user-login]" || fill.OK != 3 || fill.Matched["#user-login"] != 3 || !fill.Late {
		t.Errorf("login step 2: %+v", fill)
	}
}
