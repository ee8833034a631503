package browser

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/internal/weburl"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// Values are what a flow's {{ }} variables stand for.
type Values struct {
	Username string
	// Password is the password to sign in with (the current one, or the
	// new one when verifying).
	Password    secret.String
	NewPassword secret.String
	Params      map[string]string
	// TOTP returns a fresh code; the caller applies the fresh-code policy
	// and the replay guard.
	TOTP func(ctx context.Context) (secret.String, error)
}

func (v Values) lookup(ctx context.Context) func(string) (string, error) {
	return func(name string) (string, error) {
		switch name {
		case templates.VarUsername:
			return v.Username, nil
		case templates.VarPassword:
			if v.Password.IsZero() {
				return "", errors.New("no password for {{ password }}")
			}
			return v.Password.Reveal(), nil
		case templates.VarNewPassword:
			if v.NewPassword.IsZero() {
				return "", errors.New("no new password for {{ new_password }}")
			}
			return v.NewPassword.Reveal(), nil
		case templates.VarTOTP:
			if v.TOTP == nil {
				return "", errors.New("the account has no TOTP secret, but the template asks for a code")
			}
			c, err := v.TOTP(ctx)
			if err != nil {
				return "", fmt.Errorf("TOTP code: %w", err)
			}
			return c.Reveal(), nil
		}
		if p, ok := strings.CutPrefix(name, "param."); ok {
			if val, ok := v.Params[p]; ok {
				return val, nil
			}
			return "", fmt.Errorf("no value for {{ %s }}", name)
		}
		return "", fmt.Errorf("unknown variable {{ %s }}", name)
	}
}

// StepReport is what one step did.
type StepReport struct {
	Flow string
	// Path numbers the step: "3", or "5.then.1" inside an if, "6.2" inside a
	// frame.
	Path string
	Step templates.Step
	// Matched is the selector alternative that found the element, if any.
	Matched  string
	Duration time.Duration
	Err      error
	// Skipped is set for if steps whose branch was empty.
	Note string
}

// StepError is a step that failed: where, why, and what the page offered.
type StepError struct {
	Template string
	Flow     string
	Path     string
	Step     templates.Step
	File     string
	URL      string
	Err      error
	// Artifacts are the files saved for the failure (screenshot, HTML,
	// details), when an artifact folder was given.
	Artifacts []string
	// Candidates are elements on the page that look like what the step
	// wanted, best first.
	Candidates []Candidate
}

func (e *StepError) Error() string {
	loc := ""
	if e.File != "" {
		loc = fmt.Sprintf(" (%s:%d:%d)", e.File, e.Step.Line, e.Step.Column)
	}
	return fmt.Sprintf("template %s, %s step %s, %s%s: %v", e.Template, e.Flow, e.Path, e.Step.Describe(), loc, e.Err)
}

func (e *StepError) Unwrap() error { return e.Err }

// Runner runs a template's flows on one page.
type Runner struct {
	Template *templates.Template
	// BaseURL overrides the template's base URL (an account's --url).
	BaseURL string
	Page    *rod.Page
	Values  Values
	// ArtifactDir receives screenshots and failure reports; empty: none.
	ArtifactDir string
	Logger      *slog.Logger
	// OnStep is called after every step (progress display).
	OnStep func(StepReport)
	// OnChallenge, when set, is called when a step leaves the page showing
	// a challenge, with the flow's caller's context: the time it takes does
	// not count against any deadline. It returns nil when a person resolved
	// the challenge, and the flow goes on with the next step; or an error
	// (the challenge itself, or why not), which ends the flow.
	OnChallenge func(ctx context.Context, c *ChallengeError) error
	// Lost, when set, says why the page is gone (its renderer crashed, its
	// browser exited), or "": a step that failed then is not looked at
	// further (challenges, artifacts), which would wait on a page that
	// answers no more.
	Lost func() string
	// Secrets are more secrets of the run, besides Values' passwords and
	// the TOTP codes the runner produced, to scrub from artifacts: earlier
	// candidates, the previous password.
	Secrets []secret.String

	flow *flowClock
	// codes are the TOTP codes this runner typed, scrubbed from artifacts.
	codes []secret.String
	// secretTyped is set once a secret went into a field: from then on a
	// click or key press that would send a form elsewhere is refused.
	secretTyped bool
}

// OriginError is a secret refused because the page or frame that holds the
// field is not of the account's site: the origin of the base URL (the
// account's URL, else the template's) or one of the template's origins.
// Nothing was typed.
type OriginError struct {
	// Origin is the origin of the field's frame, as the browser knows it.
	Origin  string
	Allowed []string
	// Submit is set when the secret was typed on the site, but the click
	// or key press would send the form to Origin.
	Submit bool
}

func (e *OriginError) Error() string {
	if e.Submit {
		return fmt.Sprintf("refusing to send a form that holds a secret to %s: secrets go only to the account's site (%s); if %s belongs to the site, add it to the template's origins",
			e.Origin, strings.Join(e.Allowed, ", "), e.Origin)
	}
	return fmt.Sprintf("refusing to type a secret into a page or frame of %s: secrets are typed only into the account's site (%s); if %s belongs to the site, add it to the template's origins",
		e.Origin, strings.Join(e.Allowed, ", "), e.Origin)
}

// errFlowDeadline is the cause of a flow's context ending at its deadline.
var errFlowDeadline = errors.New("flow deadline")

// flowClock is a flow's deadline, stopped while a person resolves a
// challenge.
type flowClock struct {
	parent context.Context
	timer  *time.Timer
	budget time.Duration
}

func (r *Runner) base() string {
	if r.BaseURL != "" {
		return r.BaseURL
	}
	return r.Template.BaseURL
}

// lookup is Values.lookup that remembers the TOTP codes it hands out, for
// the artifacts' redactor.
func (r *Runner) lookup(ctx context.Context) func(string) (string, error) {
	l := r.Values.lookup(ctx)
	return func(name string) (string, error) {
		v, err := l(name)
		if err == nil && name == templates.VarTOTP {
			r.codes = append(r.codes, secret.New(v))
		}
		return v, err
	}
}

// allowedOrigins are where secrets may be typed: the base URL's origin and
// the template's origins.
func (r *Runner) allowedOrigins() []string {
	var out []string
	if o, err := templates.Origin(r.base()); err == nil {
		out = append(out, o)
	}
	for _, o := range r.Template.Origins {
		if !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	return out
}

// secretGuard checks, with a field focused, just before a secret is typed
// into it, that the secret goes to the account's site: allowed holds its
// origins (Runner.allowedOrigins). page is the frame that holds the field
// (the frame a frame step or a >>> chain entered). The origin of the
// field's frame is read from the browser's frame tree (a page cannot forge
// it), and the field's own document's origin from the element (it must
// agree); the field must hold the focus, so that typing does not land in
// another frame or field: its document has the focus (no other frame took
// it), and the focus, followed through open shadow roots (where a
// document's activeElement is the shadow host), reaches the field (or a
// field inside its own shadow root, where a component that the field is
// passes its focus on).
type secretGuard struct {
	allowed []string
}

// check reads the frame tree, then the field's state, and checks both.
func (g *secretGuard) check(page *rod.Page, el *rod.Element) error {
	if err := g.frame(page); err != nil {
		return err
	}
	st, err := isolatedFieldState(page, el)
	if err != nil {
		return fmt.Errorf("read the field's origin: %w", err)
	}
	return g.field(st)
}

// isolatedFieldState reads fieldState of el in an isolated world of its
// frame: the DOM is the page's, its functions are not, so the page's
// scripts (a hooked hasFocus or activeElement getter) neither answer the
// look nor learn of it.
func isolatedFieldState(page *rod.Page, el *rod.Element) (fieldState, error) {
	var st fieldState
	node, err := proto.DOMDescribeNode{ObjectID: el.Object.ObjectID}.Call(page)
	if err != nil {
		return st, err
	}
	// The world of page's frame, the one that holds the field: a node of
	// another frame does not resolve in it, and the look fails (closed).
	world, err := proto.PageCreateIsolatedWorld{FrameID: page.FrameID, WorldName: "rotator-guard"}.Call(page)
	if err != nil {
		return st, err
	}
	obj, err := proto.DOMResolveNode{BackendNodeID: node.Node.BackendNodeID, ExecutionContextID: world.ExecutionContextID}.Call(page)
	if err != nil {
		return st, err
	}
	defer proto.RuntimeReleaseObject{ObjectID: obj.Object.ObjectID}.Call(page)
	res, err := proto.RuntimeCallFunctionOn{ObjectID: obj.Object.ObjectID, ReturnByValue: true,
		FunctionDeclaration: `function () {` + fieldStateJS + ` return fieldState(this); }`}.Call(page)
	if err != nil {
		return st, err
	}
	if res.ExceptionDetails != nil {
		return st, errors.New("the look at the field threw")
	}
	err = res.Result.Value.Unmarshal(&st)
	return st, err
}

// frame checks the origin of page's frame in the browser's frame tree.
func (g *secretGuard) frame(page *rod.Page) error {
	tree, err := proto.PageGetFrameTree{}.Call(page)
	if err != nil {
		return fmt.Errorf("read the frame tree before typing a secret: %w", err)
	}
	frame := findFrame(tree.FrameTree, page.FrameID)
	if frame == nil {
		return fmt.Errorf("refusing to type a secret: the field's frame is not in the page's frame tree, so its origin is unknown")
	}
	if !slices.Contains(g.allowed, frame.SecurityOrigin) {
		return &OriginError{Origin: frame.SecurityOrigin, Allowed: g.allowed}
	}
	return nil
}

// field checks what the page says of the field (fieldStateJS), read after
// frame's check.
func (g *secretGuard) field(st fieldState) error {
	if !slices.Contains(g.allowed, st.Origin) {
		return &OriginError{Origin: st.Origin, Allowed: g.allowed}
	}
	if !st.Focused {
		return errors.New("refusing to type a secret: the field does not hold the focus (another element or frame took it)")
	}
	return nil
}

// fieldStateJS defines fieldState(el): what the secret guard reads of a
// field in its page, its document's origin and whether it holds the focus
// (see secretGuard).
const fieldStateJS = `const fieldState = (el) => {
		const d = el.ownerDocument, w = d && d.defaultView;
		let a = d ? d.activeElement : null, on = a === el;
		while (!on && a && a.shadowRoot && a.shadowRoot.activeElement) { a = a.shadowRoot.activeElement; on = a === el; }
		return {origin: w ? String(w.origin) : "null", focused: !!d && d.hasFocus() && on};
	};`

// fieldState is what fieldStateJS returns, and whether the field takes
// typing (typer.prepare).
type fieldState struct {
	Origin  string `json:"origin"`
	Focused bool   `json:"focused"`
	Ready   bool   `json:"ready"`
}

// checkSubmitTarget refuses a click or key press on el that would send
// its form to an origin outside the site's, once a secret was typed: markup
// injected into the site's own page (a formaction, a form action, a base
// element), with no script at all, would otherwise carry the password away.
// Before any secret is typed it checks nothing.
func (r *Runner) checkSubmitTarget(el *rod.Element) error {
	if !r.secretTyped {
		return nil
	}
	res, err := el.Eval(`() => {
		const el = this;
		const form = el.form || (el.closest && el.closest("form"));
		if (!form) return "";
		const isSubmit = (e) => (e.tagName === "BUTTON" && (e.getAttribute("type") || "submit").toLowerCase() === "submit") ||
			(e.tagName === "INPUT" && /^(submit|image)$/i.test(e.type));
		// Enter in a field sends the form through its default button.
		const submitter = isSubmit(el) ? el : Array.from(form.elements).find(isSubmit);
		const method = ((submitter && submitter.getAttribute("formmethod")) || form.getAttribute("method") || "get").toLowerCase();
		if (method === "dialog") return "";
		const raw = submitter && submitter.hasAttribute("formaction") ? submitter.getAttribute("formaction") : form.getAttribute("action");
		try { return new URL(raw === null || raw === "" ? el.ownerDocument.URL : raw, el.ownerDocument.baseURI).href; }
		catch (e) { return "unparsable:"; }
	}`)
	if err != nil {
		return fmt.Errorf("read where the form sends: %w", err)
	}
	target := res.Value.Str()
	if target == "" {
		return nil
	}
	origin, err := templates.Origin(target)
	if err != nil {
		u, perr := url.Parse(target)
		if perr == nil && u.Scheme == "javascript" {
			return nil // a script handles it: templates are code
		}
		return &OriginError{Origin: "(" + weburl.Shown(target, false) + ")", Allowed: r.allowedOrigins(), Submit: true}
	}
	if allowed := r.allowedOrigins(); !slices.Contains(allowed, origin) {
		return &OriginError{Origin: origin, Allowed: allowed, Submit: true}
	}
	return nil
}

// findFrame finds a frame by its id in a frame tree.
func findFrame(t *proto.PageFrameTree, id proto.PageFrameID) *proto.PageFrame {
	if t == nil {
		return nil
	}
	if t.Frame != nil && t.Frame.ID == id {
		return t.Frame
	}
	for _, c := range t.ChildFrames {
		if f := findFrame(c, id); f != nil {
			return f
		}
	}
	return nil
}

// checkGoto refuses to open anything but http and https: file: would read
// local files (the master key), javascript: and data: would run the
// template's own code under no origin of the site.
func checkGoto(target string) error {
	u, err := url.Parse(target)
	if err != nil {
		return fmt.Errorf("goto %q is not a URL", weburl.Shown(target, false))
	}
	if err := weburl.CheckScheme(u); err != nil {
		return fmt.Errorf("goto: %w", err)
	}
	return nil
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// RunFlow runs one flow. It returns a *ChallengeError when the page shows a
// challenge, a *StepError when a step fails, or nil.
func (r *Runner) RunFlow(ctx context.Context, flow string) error {
	steps, ok := r.Template.Flows.Get(flow)
	if !ok {
		return fmt.Errorf("template %s has no %s flow", r.Template.Name, flow)
	}
	fctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	budget := r.Template.Timeouts.Run
	r.flow = &flowClock{parent: ctx, budget: budget, timer: time.AfterFunc(budget, func() { cancel(errFlowDeadline) })}
	defer r.flow.timer.Stop()
	return r.runSteps(fctx, r.Page, flow, "", steps)
}

func (r *Runner) runSteps(ctx context.Context, page *rod.Page, flow, prefix string, steps []templates.Step) error {
	for i, st := range steps {
		path := prefix + strconv.Itoa(i+1)
		if err := r.runStep(ctx, page, flow, path, st); err != nil {
			return err
		}
	}
	return nil
}

func (r *Runner) stepTimeout(st templates.Step) time.Duration {
	if st.Timeout != 0 {
		return st.Timeout
	}
	return r.Template.Timeouts.Step
}

func (r *Runner) runStep(ctx context.Context, page *rod.Page, flow, path string, st templates.Step) error {
	sctx, cancel := context.WithTimeout(ctx, r.stepTimeout(st))
	defer cancel()
	start := time.Now()
	rep := StepReport{Flow: flow, Path: path, Step: st}
	matched, note, err := r.do(ctx, sctx, page.Context(sctx), flow, path, st)
	if err != nil && context.Cause(ctx) == errFlowDeadline {
		err = fmt.Errorf("%w (the whole %s flow took longer than %v)", err, flow, r.Template.Timeouts.Run)
	}
	var nested *StepError
	var chal *ChallengeError
	if errors.As(err, &nested) || errors.As(err, &chal) {
		return err // already reported by the nested step
	}
	// A step's error may quote the page (a URL, a script's exception): it
	// goes into run records, logs and webhooks, so no secret of the run
	// may be in it.
	err = r.scrub(err)
	rep.Matched, rep.Note, rep.Duration, rep.Err = matched, note, time.Since(start), err
	if err != nil && r.Lost != nil {
		if why := r.Lost(); why != "" {
			se := &StepError{Template: r.Template.Name, Flow: flow, Path: path, Step: st, File: r.Template.File,
				Err: fmt.Errorf("%w (%s)", err, why)}
			rep.Err = se.Err
			r.report(rep)
			return se
		}
	}
	var oe *OriginError
	if st.Kind != templates.StepIf && st.Kind != templates.StepFrame && (err == nil || !errors.As(err, &oe)) {
		// Challenges are looked for after every step, with a budget of
		// their own: a slow step must not hide one. Also after a step
		// that failed: a challenge the site answered with while the step
		// waited (a CAPTCHA shown by the sign-in's own request, while the
		// step waits for the signed-in page) is why it failed, and is
		// for an operator, not a failed sign-in.
		if c := r.shownChallenge(ctx, page, flow, path); c != nil {
			rep.Err = c
			r.report(rep)
			r.logger().Warn("challenge", "flow", flow, "step", path, "kind", string(c.Kind), "detector", c.Name, "url", c.URL)
			if err == nil {
				return r.challenge(c)
			}
			if ctx.Err() != nil {
				return c // the flow's time is up: no step again
			}
			if cerr := r.challenge(c); cerr != nil {
				return cerr
			}
			// The operator got the page past it: the step again.
			return r.runStep(ctx, page, flow, path, st)
		}
	}
	if err == nil && rep.Note == "" && (st.Kind == templates.StepIf || st.Kind == templates.StepFrame) {
		return nil // its header and nested steps were reported
	}
	if err != nil {
		se := &StepError{Template: r.Template.Name, Flow: flow, Path: path, Step: st, File: r.Template.File, Err: err}
		r.fail(page, se)
		r.report(rep)
		return se
	}
	r.report(rep)
	return nil
}

// shownChallenge is the challenge the page shows after step path, if any,
// looked for with a budget of its own.
func (r *Runner) shownChallenge(ctx context.Context, page *rod.Page, flow, path string) *ChallengeError {
	cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	c, derr := detectChallenge(page.Context(cctx), r.Template)
	ccancel()
	if derr != nil || c == nil {
		return nil
	}
	c.Flow, c.Step = flow, path
	// A form sent by GET puts what was typed in the URL.
	c.URL = r.redactor(nil).Replace(c.URL)
	c.Screenshot = r.save(page, fmt.Sprintf("%s-step%s-challenge.png", flow, path), nil)
	return c
}

// scrub returns err with every secret of the run in its text replaced by
// [redacted], still wrapping err.
func (r *Runner) scrub(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if clean := r.redactor(nil).Replace(msg); clean != msg {
		return &scrubbedError{msg: clean, err: err}
	}
	return err
}

// scrubbedError is an error whose text was scrubbed of secrets; errors.Is
// and errors.As still see what it wraps.
type scrubbedError struct {
	msg string
	err error
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// challenge hands a challenge to OnChallenge with the flow's clock stopped;
// nil means a person resolved it and the flow goes on.
func (r *Runner) challenge(c *ChallengeError) error {
	if r.OnChallenge == nil || r.flow == nil {
		return c
	}
	r.flow.timer.Stop()
	err := r.OnChallenge(r.flow.parent, c)
	// The rest of the flow gets a whole budget again: a page resumed
	// after half an hour must not fail on a deadline that ran out while
	// it waited.
	r.flow.timer.Reset(r.flow.budget)
	if err != nil {
		return err
	}
	r.report(StepReport{Flow: c.Flow, Path: c.Step, Note: "challenge resolved by an operator; resuming"})
	return nil
}

func (r *Runner) report(rep StepReport) {
	if r.OnStep != nil {
		r.OnStep(rep)
	}
}

// failedIn says whether the page shows that a step of flow failed, and
// how: one of the template's failure or rejection messages, in any flow;
// in a flow that signs in (login, verify) once a secret was typed, also a
// sign-in failure the site shows in its own words (signInFailure).
func (r *Runner) failedIn(flow string) func(*rod.Page) (string, bool) {
	signsIn := flow == templates.FlowLogin || flow == templates.FlowVerify
	return func(page *rod.Page) (string, bool) {
		ms := append(append([]templates.Matcher(nil), r.Template.Failures...), r.Template.Rejections...)
		if i, err := firstMatch(page, ms); err == nil && i >= 0 {
			return "the page shows the template's failure " + describeMatcher(ms[i]), true
		}
		if signsIn && r.secretTyped {
			if why, bad := signInFailure(page); bad {
				// why quotes the page, which may show anything: the
				// page's cookies are scrubbed here, the run's passwords
				// and codes with the step's error (scrub).
				return "the sign-in failed: " + r.redactor(page).Replace(why), true
			}
		}
		return "", false
	}
}

func describeMatcher(m templates.Matcher) string {
	switch {
	case m.Selector != nil:
		return m.Selector.String()
	case m.Text != "":
		return fmt.Sprintf("text %q", m.Text)
	case m.URL != "":
		return fmt.Sprintf("url %q", m.URL)
	case m.URLRegex != nil:
		return fmt.Sprintf("url_re %q", m.URLRegex.String())
	}
	return "?"
}
