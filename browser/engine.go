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

// checkSecretTarget is called with el focused, just before a secret is
// typed into it. The origin of el's frame is read from the browser's frame
// tree (a page cannot forge it), and el's own document's origin from the
// element (it must agree); el must hold the focus, so that typing does not
// land in another frame.
func (r *Runner) checkSecretTarget(page *rod.Page, el *rod.Element) error {
	allowed := r.allowedOrigins()
	tree, err := proto.PageGetFrameTree{}.Call(page)
	if err != nil {
		return fmt.Errorf("read the frame tree before typing a secret: %w", err)
	}
	frame := findFrame(tree.FrameTree, page.FrameID)
	if frame == nil {
		return fmt.Errorf("refusing to type a secret: the field's frame is not in the page's frame tree, so its origin is unknown")
	}
	if !slices.Contains(allowed, frame.SecurityOrigin) {
		return &OriginError{Origin: frame.SecurityOrigin, Allowed: allowed}
	}
	res, err := el.Eval(`() => {
		const d = this.ownerDocument, w = d && d.defaultView;
		const root = this.getRootNode();
		return {origin: w ? String(w.origin) : "null", focused: !!root && root.activeElement === this};
	}`)
	if err != nil {
		return fmt.Errorf("read the field's origin: %w", err)
	}
	var got struct {
		Origin  string `json:"origin"`
		Focused bool   `json:"focused"`
	}
	if err := res.Value.Unmarshal(&got); err != nil {
		return fmt.Errorf("read the field's origin: %w", err)
	}
	if !slices.Contains(allowed, got.Origin) {
		return &OriginError{Origin: got.Origin, Allowed: allowed}
	}
	if !got.Focused {
		return errors.New("refusing to type a secret: the field does not hold the focus (another element or frame took it)")
	}
	return nil
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
		return fmt.Errorf("goto %q is not a URL", target)
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return fmt.Errorf("goto: only http and https URLs may be opened, not %s:", u.Scheme)
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
	if err == nil && st.Kind != templates.StepIf && st.Kind != templates.StepFrame {
		// Challenges are looked for after every step, with a budget of
		// their own: a slow step must not hide one.
		cctx, ccancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		c, derr := detectChallenge(page.Context(cctx), r.Template)
		ccancel()
		if derr == nil && c != nil {
			c.Flow, c.Step = flow, path
			// A form sent by GET puts what was typed in the URL.
			c.URL = r.redactor(nil).Replace(c.URL)
			c.Screenshot = r.save(page, fmt.Sprintf("%s-step%s-challenge.png", flow, path), nil)
			rep.Err = c
			r.report(rep)
			r.logger().Warn("challenge", "flow", flow, "step", path, "kind", string(c.Kind), "detector", c.Name, "url", c.URL)
			return r.challenge(c)
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

// waitElement polls for sel until ctx ends.
func waitElement(ctx context.Context, page *rod.Page, sel *templates.Selector, visible bool) (*rod.Element, *templates.Alternative, error) {
	for {
		find := findOnce
		if visible {
			find = visibleOnce
		}
		el, alt, err := find(page, sel)
		if err != nil && ctx.Err() == nil {
			return nil, nil, err
		}
		if el != nil {
			return el, alt, nil
		}
		select {
		case <-ctx.Done():
			what := "matches"
			if visible {
				what = "is visible for"
			}
			return nil, nil, fmt.Errorf("no element %s %s within the step's deadline", what, sel.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// settle waits after an action for the page to stop loading: no request in
// flight for 300 ms and the document complete, within at most 5 s (pages
// that poll forever do not hold a flow up).
func settle(ctx context.Context, page *rod.Page, action func() error) error {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	wait := page.Context(sctx).WaitRequestIdle(300*time.Millisecond, nil, nil, nil)
	if err := action(); err != nil {
		return err
	}
	wait()
	for sctx.Err() == nil {
		res, err := page.Context(sctx).Eval(`() => document.readyState`)
		if err == nil && res.Value.Str() == "complete" {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

// do runs one step and returns the matched alternative and a note. ctx is
// the step's deadline; flowCtx the flow's, for nested steps and for waiting
// on a fresh TOTP code, which may take up to a period and must not count
// against the step.
func (r *Runner) do(flowCtx, ctx context.Context, page *rod.Page, flow, path string, st templates.Step) (string, string, error) {
	lookup := r.lookup(flowCtx)
	switch st.Kind {
	case templates.StepGoto:
		target, err := st.URL.Expand(lookup)
		if err != nil {
			return "", "", err
		}
		if target == templates.ChangePasswordPage {
			found, there, err := r.changePasswordPage(ctx, page)
			if err != nil {
				return "", "", err
			}
			if there {
				return "", found, nil
			}
			target = found
		} else if target, err = templates.ResolveURL(r.base(), target); err != nil {
			return "", "", err
		}
		if err := checkGoto(target); err != nil {
			return "", "", err
		}
		if err := page.Navigate(target); err != nil {
			return "", "", fmt.Errorf("open %s: %w", target, err)
		}
		if err := page.WaitLoad(); err != nil {
			return "", "", fmt.Errorf("load %s: %w", target, err)
		}
		return "", target, nil

	case templates.StepFill, templates.StepTOTP:
		el, alt, err := waitElement(ctx, page, st.Target, true)
		if err != nil {
			return "", "", err
		}
		var value string
		if st.Kind == templates.StepTOTP {
			value, err = lookup(templates.VarTOTP)
		} else {
			value, err = st.Value.Expand(lookup)
		}
		if err != nil {
			return alt.Raw, "", err
		}
		// A wait for a TOTP window may have used up the step's deadline:
		// typing gets a fresh one.
		tctx, cancel := context.WithTimeout(flowCtx, r.stepTimeout(st))
		defer cancel()
		// A secret goes only to the account's site: checked with the
		// field focused, before anything is typed, and again before each
		// key when typing key by key. A username or a param may go
		// anywhere.
		var guard func() error
		if st.Kind == templates.StepTOTP || st.Value.HasSecret() {
			tp, te := page.Context(tctx), el.Context(tctx)
			guard = func() error { return r.checkSecretTarget(tp, te) }
		}
		if guard != nil {
			r.secretTyped = true
		}
		if err := fill(page.Context(tctx), el.Context(tctx), value, st.Keys, guard); err != nil {
			return alt.Raw, "", fmt.Errorf("type into %s: %w", alt.Raw, err)
		}
		return alt.Raw, "", nil

	case templates.StepClick:
		el, alt, err := waitElement(ctx, page, st.Target, !st.JS)
		if err != nil {
			return "", "", err
		}
		if err := r.checkSubmitTarget(el); err != nil {
			return alt.Raw, "", fmt.Errorf("click %s: %w", alt.Raw, err)
		}
		err = settle(ctx, page, func() error {
			if st.JS {
				_, err := el.Eval(`() => this.click()`)
				return err
			}
			return el.Click(proto.InputMouseButtonLeft, 1)
		})
		if err != nil {
			return alt.Raw, "", fmt.Errorf("click %s: %w", alt.Raw, err)
		}
		return alt.Raw, "", nil

	case templates.StepSelect:
		el, alt, err := waitElement(ctx, page, st.Target, true)
		if err != nil {
			return "", "", err
		}
		opt, err := st.Value.Expand(lookup)
		if err != nil {
			return alt.Raw, "", err
		}
		res, err := el.Eval(`(want) => {
			const o = Array.from(this.options || []).find(o => o.value === want || o.text.trim() === want);
			if (!o) return false;
			this.value = o.value;
			this.dispatchEvent(new Event("input", {bubbles: true}));
			this.dispatchEvent(new Event("change", {bubbles: true}));
			return true; }`, opt)
		if err != nil {
			return alt.Raw, "", err
		}
		if !res.Value.Bool() {
			return alt.Raw, "", fmt.Errorf("%s has no option %q", alt.Raw, opt)
		}
		return alt.Raw, "", nil

	case templates.StepCheck:
		el, alt, err := waitElement(ctx, page, st.Target, true)
		if err != nil {
			return "", "", err
		}
		prop, err := el.Property("checked")
		if err != nil {
			return alt.Raw, "", err
		}
		if prop.Bool() != st.Checked {
			if err := el.Click(proto.InputMouseButtonLeft, 1); err != nil {
				return alt.Raw, "", err
			}
		}
		return alt.Raw, "", nil

	case templates.StepPress:
		matched := ""
		if st.Target != nil {
			el, alt, err := waitElement(ctx, page, st.Target, true)
			if err != nil {
				return "", "", err
			}
			if err := el.Focus(); err != nil {
				return alt.Raw, "", err
			}
			matched = alt.Raw
		}
		if r.secretTyped {
			active, err := page.Evaluate(rod.Eval(`() => document.activeElement`).ByObject())
			if err == nil && active.ObjectID != "" {
				el, eerr := page.ElementFromObject(active)
				if eerr == nil {
					err = r.checkSubmitTarget(el)
				}
			}
			if err != nil {
				return matched, "", fmt.Errorf("press %s: %w", st.Key, err)
			}
		}
		k, ok := keyFor(st.Key)
		if !ok {
			return matched, "", fmt.Errorf("unknown key %q", st.Key)
		}
		return matched, "", settle(ctx, page, func() error { return page.Keyboard.Type(k) })

	case templates.StepWaitFor, templates.StepExpect:
		err := waitCondition(ctx, page, st.Cond, r.failed)
		if err != nil && st.Kind == templates.StepExpect && st.Message != "" {
			err = fmt.Errorf("%s (%v)", st.Message, err)
		}
		return "", "", err

	case templates.StepIf:
		ok, err := checkCondition(page, st.Cond)
		if err != nil {
			return "", "", err
		}
		branch, name := st.Then, "then"
		if !ok {
			branch, name = st.Else, "else"
		}
		if len(branch) == 0 {
			return "", "condition false, nothing to do", nil
		}
		r.report(StepReport{Flow: flow, Path: path, Step: st, Note: "condition " + strconv.FormatBool(ok) + ": " + name})
		return "", "", r.runSteps(flowCtx, page.Context(flowCtx), flow, path+"."+name+".", branch)

	case templates.StepFrame:
		el, alt, err := waitElement(ctx, page, st.Target, false)
		if err != nil {
			return "", "", err
		}
		fr, err := el.Frame()
		if err != nil {
			return alt.Raw, "", fmt.Errorf("%s is not a frame: %w", alt.Raw, err)
		}
		r.report(StepReport{Flow: flow, Path: path, Step: st, Matched: alt.Raw, Note: "entering frame"})
		return alt.Raw, "", r.runSteps(flowCtx, fr.Context(flowCtx), flow, path+".", st.Steps)

	case templates.StepScreenshot:
		name, err := st.Text.Expand(lookup)
		if err != nil {
			return "", "", err
		}
		p := r.save(page, name+".png", nil)
		return "", p, nil

	case templates.StepSleep:
		select {
		case <-time.After(st.Duration):
			return "", "", nil
		case <-ctx.Done():
			return "", "", fmt.Errorf("sleep %v: %w", st.Duration, ctx.Err())
		}

	case templates.StepEval:
		err := settle(ctx, page, func() error {
			_, err := page.Evaluate(rod.Eval("() => {" + st.Script + "\n}").ByPromise())
			return err
		})
		// What a script returns or throws may be anything the page holds,
		// a typed password too: it is never shown, logged or saved.
		var evalErr *rod.EvalError
		switch {
		case errors.As(err, &evalErr):
			return "", "", errors.New("eval: the script threw an exception (its message is not shown: it may hold what the page holds)")
		case err != nil:
			return "", "", fmt.Errorf("eval: %w", err)
		}
		return "", "", nil

	case templates.StepLog:
		msg, err := st.Text.Expand(lookup)
		if err != nil {
			return "", "", err
		}
		r.logger().Info(msg, "template", r.Template.Name, "flow", flow, "step", path)
		return "", msg, nil

	case templates.StepProp:
		el, alt, err := waitElement(ctx, page, st.Target, false)
		if err != nil {
			return "", "", err
		}
		raw, err := st.Value.Expand(lookup)
		if err != nil {
			return alt.Raw, "", err
		}
		var v any = raw
		if b, err := strconv.ParseBool(raw); err == nil {
			v = b
		} else if n, err := strconv.ParseFloat(raw, 64); err == nil {
			v = n
		}
		if _, err := el.Eval(`(name, v) => { this[name] = v; }`, st.Property, v); err != nil {
			return alt.Raw, "", err
		}
		return alt.Raw, "", nil
	}
	return "", "", fmt.Errorf("unknown step kind %q", st.Kind)
}

// fill clears the field and types value, all at once or key by key. guard,
// when set, is called with the field focused before the text is typed, and
// before each key: typing stops at its first error.
func fill(page *rod.Page, el *rod.Element, value string, keyByKey bool, guard func() error) error {
	if guard == nil {
		guard = func() error { return nil }
	}
	if err := el.Focus(); err != nil {
		return err
	}
	// Before the field is touched at all: clearing it fires an input
	// event too.
	if err := guard(); err != nil {
		return err
	}
	if _, err := el.Eval(`() => { if ("value" in this) { this.value = ""; this.dispatchEvent(new Event("input", {bubbles: true})); } }`); err != nil {
		return err
	}
	if !keyByKey {
		// el.Input, with the guard between the focus and the text.
		if err := el.Focus(); err != nil {
			return err
		}
		if err := el.WaitEnabled(); err != nil {
			return err
		}
		if err := el.WaitWritable(); err != nil {
			return err
		}
		if err := guard(); err != nil {
			return err
		}
		if err := page.InsertText(value); err != nil {
			return err
		}
		_, err := el.Eval(`() => { this.dispatchEvent(new Event("input", {bubbles: true})); this.dispatchEvent(new Event("change", {bubbles: true})); }`)
		return err
	}
	for _, r := range value {
		if err := guard(); err != nil {
			return err
		}
		if k, ok := keyFor(string(r)); ok {
			if err := page.Keyboard.Type(k); err != nil {
				return err
			}
			continue
		}
		if err := page.InsertText(string(r)); err != nil {
			return err
		}
	}
	_, err := el.Eval(`() => this.dispatchEvent(new Event("change", {bubbles: true}))`)
	return err
}

// checkCondition evaluates a condition once.
func checkCondition(page *rod.Page, c templates.Condition) (bool, error) {
	switch c.Kind {
	case templates.CondExists:
		el, _, err := findOnce(page, c.Selector)
		return el != nil, err
	case templates.CondVisible:
		el, _, err := visibleOnce(page, c.Selector)
		return el != nil, err
	case templates.CondHidden:
		el, _, err := visibleOnce(page, c.Selector)
		return el == nil, err
	case templates.CondURL, templates.CondURLRe:
		info, err := page.Info()
		if err != nil {
			return false, err
		}
		if c.Kind == templates.CondURL {
			return strings.Contains(info.URL, c.Pattern), nil
		}
		return c.Regexp.MatchString(info.URL), nil
	case templates.CondText:
		res, err := page.Eval(`() => document.body ? document.body.innerText : ""`)
		if err != nil {
			return false, err
		}
		return strings.Contains(strings.ToLower(res.Value.Str()), strings.ToLower(c.Pattern)), nil
	}
	return false, fmt.Errorf("unknown condition %q", c.Kind)
}

// failed reports whether the page shows one of the template's failure or
// rejection messages, and which.
func (r *Runner) failed(page *rod.Page) (string, bool) {
	ms := append(append([]templates.Matcher(nil), r.Template.Failures...), r.Template.Rejections...)
	if i, err := firstMatch(page, ms); err == nil && i >= 0 {
		return describeMatcher(ms[i]), true
	}
	return "", false
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

// waitCondition polls a condition until it holds or ctx ends; it stops at
// once when failed sees the site say the step failed.
func waitCondition(ctx context.Context, page *rod.Page, c templates.Condition, failed func(*rod.Page) (string, bool)) error {
	var last error
	for {
		ok, err := checkCondition(page, c)
		if err == nil && ok {
			return nil
		}
		if failed != nil {
			if what, bad := failed(page); bad {
				return fmt.Errorf("%s: the page shows the template's failure %s", c.String(), what)
			}
		}
		if err != nil {
			last = err
		}
		select {
		case <-ctx.Done():
			msg := "not met"
			if c.Kind == templates.CondURL || c.Kind == templates.CondURLRe {
				ictx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				if info, err := page.Context(ictx).Info(); err == nil {
					msg = "the page is at " + weburl.Shown(info.URL, false)
				}
				cancel()
			}
			if last != nil && !errors.Is(last, context.DeadlineExceeded) && !errors.Is(last, context.Canceled) {
				msg += ": " + last.Error()
			}
			return fmt.Errorf("%s: %s within the step's deadline", c.String(), msg)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// changePasswordPage finds the site's change-password page: its
// /.well-known/change-password redirect, followed by the browser itself
// (the account's proxy, the browser's name resolution and cookies), else
// Apple's list. It says whether the page is already there.
func (r *Runner) changePasswordPage(ctx context.Context, page *rod.Page) (string, bool, error) {
	wk, err := templates.ResolveURL(r.base(), "/.well-known/change-password")
	if err != nil {
		return "", false, err
	}
	if err := checkGoto(wk); err != nil {
		return "", false, err
	}
	why := ""
	err = page.Navigate(wk)
	if err == nil {
		err = page.WaitLoad()
	}
	if err == nil {
		info, ierr := page.Info()
		if ierr != nil {
			return "", false, fmt.Errorf("read the page's URL: %w", ierr)
		}
		// A redirect may not lead out of http and https.
		if err := checkGoto(info.URL); err != nil {
			return "", false, err
		}
		status := 0
		if res, serr := page.Eval(`() => { const n = performance.getEntriesByType("navigation")[0]; return n ? n.responseStatus : 0 }`); serr == nil {
			status = res.Value.Int()
		}
		if status >= 200 && status < 300 {
			return info.URL, true, nil
		}
		why = fmt.Sprintf("HTTP %d", status)
	} else {
		why = err.Error()
	}
	u, lerr := templates.ChangePasswordURL(r.base())
	if lerr == nil && u != "" {
		return u, false, nil
	}
	return "", false, fmt.Errorf("no change-password page: %s (%s) and Apple's list has no entry for the site; use goto with the page's URL", wk, why)
}
