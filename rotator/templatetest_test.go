package rotator

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/templates"
)

// TestTemplateTestChangesNothing: a template test signs in with the
// account's password (in two steps), runs the default verify (logout,
// login) when the template has no verify flow, and leaves the vault as it
// was: no run, no saved browser state, the same password.
func TestTemplateTestChangesNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.add(demosite.UserSpec{Name: "bob", Password: "Bob-pass-123456", TwoStep: true})
	ctx := ctxFor(t)
	tpl, err := e.rot.Templates("demo-social")
	if err != nil {
		t.Fatal(err)
	}
	noVerify := *tpl
	noVerify.Flows.Verify = nil
	var flows, paths []string
	ready := false
	err = e.rot.RunTemplateTest(ctx, TemplateTest{Account: "bob", Template: &noVerify, Flow: templates.FlowVerify,
		Ready:  func() { ready = true },
		OnFlow: func(f string) { flows = append(flows, f) },
		OnStep: func(rep browser.StepReport) { paths = append(paths, rep.Flow+" "+rep.Path) }})
	if err != nil {
		t.Fatal(err)
	}
	if !ready || !slices.Equal(flows, []string{"login", "logout", "login"}) || !slices.Contains(paths, "login 5.then.1") {
		t.Errorf("ready %v, flows %v, steps %v", ready, flows, paths)
	}
	if st, _ := e.site.User("bob"); st.SignIns != 2 {
		t.Errorf("the site counted %d sign-ins, want 2", st.SignIns)
	}
	if runs, err := e.store.Runs(ctx, "bob", 10); err != nil || len(runs) != 0 {
		t.Errorf("runs %v %v: a test records none", runs, err)
	}
	if saved, err := e.store.Cookies(ctx, "bob"); err != nil || saved != nil {
		t.Errorf("browser state %d bytes, %v: a test saves none", len(saved), err)
	}
	if e.current("bob") != "Bob-pass-123456" {
		t.Error("the password changed")
	}

	// A template without a verify or a logout flow cannot verify; a
	// template that does not fit the page fails at its step.
	bare := noVerify
	bare.Flows.Logout = nil
	if err := e.rot.RunTemplateTest(ctx, TemplateTest{Account: "bob", Template: &bare, Flow: templates.FlowVerify}); err == nil {
		t.Error("verify without verify and logout flows passed")
	}
	if err := e.rot.RunTemplateTest(ctx, TemplateTest{Account: "bob", Template: tpl, Flow: templates.FlowChange}); err == nil {
		t.Error("a test ran the change flow")
	}
	e.site.SetLayout("v2")
	v1, _ := templates.LoadFile("../browser/testdata/demo-v1-only.yaml")
	v1.Flows.Login[1].Timeout = time.Second // the step that must fail; the goto keeps its deadline
	var se *browser.StepError
	err = e.rot.RunTemplateTest(ctx, TemplateTest{Account: "bob", Template: v1, Flow: templates.FlowLogin, ArtifactDir: t.TempDir()})
	if !errors.As(err, &se) || se.Path != "2" {
		t.Errorf("got %v, want a step error at step 2", err)
	}
}
