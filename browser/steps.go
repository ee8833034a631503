package browser

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/internal/weburl"
	"github.com/rotator-pam/rotator/templates"
)

// do runs one step and returns the matched alternative and a note. ctx is
// the step's deadline; flowCtx the flow's, for nested steps and for waiting
// on a fresh TOTP code, which may take up to a period and must not count
// against the step.
func (r *Runner) do(flowCtx, ctx context.Context, page *rod.Page, flow, path string, st templates.Step) (string, string, error) {
	lookup := r.lookup(flowCtx)
	switch st.Kind {
	case templates.StepGoto:
		return r.doGoto(ctx, page, st, lookup)
	case templates.StepFill, templates.StepTOTP:
		return r.doFill(flowCtx, ctx, page, st, lookup)
	case templates.StepClick:
		return r.doClick(ctx, page, st)
	case templates.StepSelect:
		return doSelect(ctx, page, st, lookup)
	case templates.StepCheck:
		return doCheck(ctx, page, st)
	case templates.StepPress:
		return r.doPress(ctx, page, st)
	case templates.StepWaitFor, templates.StepExpect:
		return "", "", r.doWait(ctx, page, flow, st)
	case templates.StepIf:
		return r.doIf(flowCtx, page, flow, path, st)
	case templates.StepFrame:
		return r.doFrame(flowCtx, ctx, page, flow, path, st)
	case templates.StepScreenshot:
		return r.doScreenshot(page, st, lookup)
	case templates.StepSleep:
		return "", "", doSleep(ctx, st)
	case templates.StepEval:
		return "", "", doEval(ctx, page, st)
	case templates.StepLog:
		return r.doLog(flow, path, st, lookup)
	case templates.StepProp:
		return doProp(ctx, page, st, lookup)
	}
	return "", "", fmt.Errorf("unknown step kind %q", st.Kind)
}

// doGoto opens the step's URL, relative to the base URL, or the site's
// change-password page; the note is the URL opened.
func (r *Runner) doGoto(ctx context.Context, page *rod.Page, st templates.Step, lookup func(string) (string, error)) (string, string, error) {
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
	if stage, err := navigate(ctx, page, target); err != nil {
		return "", "", fmt.Errorf("%s %s: %w", stage, target, err)
	}
	return "", target, nil
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
	if _, err = navigate(ctx, page, wk); err == nil {
		info, ierr := targetInfo(page)
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
			// The note is printed and recorded: no query or userinfo.
			return weburl.Shown(info.URL, false), true, nil
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

// doFill types the step's value, or a fresh TOTP code, into its field.
func (r *Runner) doFill(flowCtx, ctx context.Context, page *rod.Page, st templates.Step, lookup func(string) (string, error)) (string, string, error) {
	f, err := waitFound(ctx, page, st.Target, true)
	if err != nil {
		return "", "", err
	}
	el, alt := f.el, f.alt
	var value string
	if st.Kind == templates.StepTOTP {
		value, err = lookup(templates.VarTOTP)
	} else {
		value, err = st.Value.Expand(lookup)
	}
	if err != nil {
		return alt.Raw, "", err
	}
	// A secret goes only to the account's site: checked with the
	// field focused, before anything is typed, and again before each
	// key when typing key by key, on the frame that holds the field. A
	// username or a param may go anywhere.
	ty := typer{ctx: flowCtx, timeout: r.stepTimeout(st), page: f.page, el: el}
	if st.Kind == templates.StepTOTP || st.Value.HasSecret() {
		ty.guard = &secretGuard{allowed: r.allowedOrigins()}
		r.secretTyped = true
	}
	if err := ty.fill(value, st.Keys); err != nil {
		return alt.Raw, "", fmt.Errorf("type into %s: %w", alt.Raw, err)
	}
	return alt.Raw, "", nil
}

// doClick clicks the step's element, with the mouse or from a script, and
// waits for the page to settle.
func (r *Runner) doClick(ctx context.Context, page *rod.Page, st templates.Step) (string, string, error) {
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
}

// doSelect picks the option of a select element whose value or text is
// the step's value.
func doSelect(ctx context.Context, page *rod.Page, st templates.Step, lookup func(string) (string, error)) (string, string, error) {
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
}

// doCheck clicks a checkbox when its state is not the step's.
func doCheck(ctx context.Context, page *rod.Page, st templates.Step) (string, string, error) {
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
}

// doPress presses a key, in the step's element when it names one, and
// waits for the page to settle.
func (r *Runner) doPress(ctx context.Context, page *rod.Page, st templates.Step) (string, string, error) {
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
		el, err := focusedElement(page)
		if err == nil && el != nil {
			err = r.checkSubmitTarget(el)
		}
		if err != nil {
			return matched, "", fmt.Errorf("press %s: %w", st.Key, err)
		}
	}
	k, ok := keyFor(st.Key)
	if !ok {
		return matched, "", fmt.Errorf("unknown key %q", st.Key)
	}
	return matched, "", settle(ctx, page, func() error { return typeKey(page, k) })
}

// doWait waits for a wait_for or expect step's condition; an expect's
// message leads its error.
func (r *Runner) doWait(ctx context.Context, page *rod.Page, flow string, st templates.Step) error {
	err := waitCondition(ctx, page, st.Cond, r.failedIn(flow))
	if err != nil && st.Kind == templates.StepExpect && st.Message != "" {
		err = fmt.Errorf("%s (%v)", st.Message, err)
	}
	return err
}

// doIf runs the branch its condition chooses, with the flow's deadline.
func (r *Runner) doIf(flowCtx context.Context, page *rod.Page, flow, path string, st templates.Step) (string, string, error) {
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
}

// doFrame runs its nested steps inside the frame element it names, with
// the flow's deadline.
func (r *Runner) doFrame(flowCtx, ctx context.Context, page *rod.Page, flow, path string, st templates.Step) (string, string, error) {
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
}

// doScreenshot saves a screenshot under the step's name; the note is its
// file.
func (r *Runner) doScreenshot(page *rod.Page, st templates.Step, lookup func(string) (string, error)) (string, string, error) {
	name, err := st.Text.Expand(lookup)
	if err != nil {
		return "", "", err
	}
	p := r.save(page, name+".png", nil)
	return "", p, nil
}

// doSleep waits for the step's duration.
func doSleep(ctx context.Context, st templates.Step) error {
	select {
	case <-time.After(st.Duration):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("sleep %v: %w", st.Duration, ctx.Err())
	}
}

// doEval runs the step's script in the page and waits for the page to
// settle.
func doEval(ctx context.Context, page *rod.Page, st templates.Step) error {
	err := settle(ctx, page, func() error {
		_, err := page.Evaluate(rod.Eval("() => {" + st.Script + "\n}").ByPromise())
		return err
	})
	// What a script returns or throws may be anything the page holds,
	// a typed password too: it is never shown, logged or saved.
	var evalErr *rod.EvalError
	switch {
	case errors.As(err, &evalErr):
		return errors.New("eval: the script threw an exception (its message is not shown: it may hold what the page holds)")
	case err != nil:
		return fmt.Errorf("eval: %w", err)
	}
	return nil
}

// doLog logs the step's text; the note is the text.
func (r *Runner) doLog(flow, path string, st templates.Step, lookup func(string) (string, error)) (string, string, error) {
	msg, err := st.Text.Expand(lookup)
	if err != nil {
		return "", "", err
	}
	r.logger().Info(msg, "template", r.Template.Name, "flow", flow, "step", path)
	return "", msg, nil
}

// doProp sets a property of the step's element: a boolean, a number or
// else a string.
func doProp(ctx context.Context, page *rod.Page, st templates.Step, lookup func(string) (string, error)) (string, string, error) {
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

// typer types a value into a field. Each action (readying the field, the
// whole text, one key) gets the step's timeout of its own, from the flow's
// context: the deadline finds a page that stopped answering, and a long
// password typed key by key on a slow machine is not cut short. A wait for
// a TOTP window before it uses none of this time.
type typer struct {
	ctx     context.Context // the flow's: bounds the whole typing
	timeout time.Duration
	page    *rod.Page
	el      *rod.Element
	// guard, when set, checks the field, focused, before anything is
	// typed (before it is cleared, and again just before the text goes
	// in) and before each key.
	guard *secretGuard
}

// do runs f on the page and the field bound to a fresh deadline.
func (t typer) do(f func(*rod.Page, *rod.Element) error) error {
	ctx, cancel := context.WithTimeout(t.ctx, t.timeout)
	defer cancel()
	return f(t.page.Context(ctx), t.el.Context(ctx))
}

func (t typer) check(p *rod.Page, el *rod.Element) error {
	if t.guard == nil {
		return nil
	}
	return t.guard.check(p, el)
}

// fill types value, as one text, as fast as the page takes it, or key by
// key.
func (t typer) fill(value string, keyByKey bool) error {
	if err := t.do(t.prepare); err != nil {
		return err
	}
	if !keyByKey {
		// Checked again, by a look of its own that touches nothing: the
		// look prepare ends with runs in the same task as its focus and its
		// clearing, and a page that answers those in a microtask or its
		// next task (moving the focus to another origin's frame) acts
		// after it, before the text goes in.
		return t.do(func(p *rod.Page, el *rod.Element) error {
			if err := t.check(p, el); err != nil {
				return err
			}
			if err := p.InsertText(value); err != nil {
				return err
			}
			_, err := el.Eval(`() => { this.dispatchEvent(new Event("input", {bubbles: true})); this.dispatchEvent(new Event("change", {bubbles: true})); }`)
			return err
		})
	}
	for _, r := range value {
		err := t.do(func(p *rod.Page, el *rod.Element) error {
			if err := t.check(p, el); err != nil {
				return err
			}
			if k, ok := keyFor(string(r)); ok {
				return typeKey(p, k)
			}
			return p.InsertText(string(r))
		})
		if err != nil {
			return err
		}
	}
	return t.do(func(_ *rod.Page, el *rod.Element) error {
		_, err := el.Eval(`() => this.dispatchEvent(new Event("change", {bubbles: true}))`)
		return err
	})
}

// prepareJS focuses the field (as a person would, so that a page that
// unlocks a field when it gets the focus does so) and says whether it
// takes typing: enabled and writable. When it does and clear is set, it
// empties the field, with the input event a person's clearing fires, and
// focuses it again (a page may move the focus on input). It returns the
// field's state (fieldStateJS) as it is then.
const prepareJS = `(clear) => {` + fieldStateJS + `
	this.focus();
	const ready = !this.disabled && !this.readOnly;
	if (ready && clear) {
		if ("value" in this) { this.value = ""; this.dispatchEvent(new Event("input", {bubbles: true})); }
		this.focus();
	}
	return {ready, ...fieldState(this)};
}`

// prepare readies the field for typing: focused, checked by the guard
// before it is touched, cleared, and checked again as it is when the text
// goes in; it waits for the page to make the field enabled and writable.
func (t typer) prepare(p *rod.Page, el *rod.Element) error {
	ch := &changes{page: p}
	defer ch.stop()
	// Whether the field may be touched: a secret's field passed the
	// guard once, focused, before it is cleared (clearing fires an input
	// event too).
	checked := t.guard == nil
	for {
		if t.guard != nil {
			if err := t.guard.frame(p); err != nil {
				return err
			}
		}
		st, err := prepareField(el, checked)
		if err != nil {
			return err
		}
		if st.Ready {
			if t.guard != nil {
				if err := t.guard.field(st); err != nil {
					return err
				}
			}
			if checked {
				return nil
			}
			checked = true
			continue
		}
		if !ch.next(p.GetContext()) {
			return fmt.Errorf("the field stayed disabled or read-only: %w", p.GetContext().Err())
		}
	}
}

// prepareField runs prepareJS on el.
func prepareField(el *rod.Element, clear bool) (fieldState, error) {
	var st fieldState
	res, err := el.Evaluate(rod.Eval(prepareJS, clear).ByUser())
	if err != nil {
		return st, err
	}
	if err := res.Value.Unmarshal(&st); err != nil {
		return st, fmt.Errorf("read the field's state: %w", err)
	}
	return st, nil
}
