package browser

import (
	"context"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// Pacing of the waits that look again at each change of the page.
const (
	// changeFallback is the longest a wait goes without looking again:
	// what a mutation observer does not see (a change inside a closed
	// shadow root or another origin's frame, a style a stylesheet or an
	// animation applies) is seen then.
	changeFallback = 250 * time.Millisecond
	// busyGap is the shortest time between two looks on a busy page, one
	// that changed again right after the look before (an animation drawn
	// by a script, a clock), so that it is not looked at in a busy loop.
	busyGap = 50 * time.Millisecond
)

// changeJS is a promise that resolves at the page's next change: a
// mutation of its document, of an open shadow root in it or of the document
// of a same-origin frame in it; a new URL (history.pushState changes no
// node); or after ms at the latest.
const changeJS = `(ms) => new Promise(resolve => {
	const href = location.href;
	let timer, tick;
	const o = new MutationObserver(() => done());
	const done = () => { o.disconnect(); clearTimeout(timer); clearInterval(tick); resolve(); };
	const roots = [document];
	for (let i = 0; i < roots.length; i++) {
		o.observe(roots[i], {subtree: true, childList: true, attributes: true, characterData: true});
		for (const e of roots[i].querySelectorAll("*")) {
			if (e.shadowRoot) roots.push(e.shadowRoot);
			if (e.localName === "iframe" || e.localName === "frame") {
				try { if (e.contentDocument) roots.push(e.contentDocument); } catch (err) {}
			}
		}
	}
	timer = setTimeout(done, ms);
	tick = setInterval(() => { if (location.href !== href) done(); }, 50);
})`

// changes paces a wait that looks at a page again and again: each look
// after the first is preceded by a changeJS promise in the page, so that a
// change while the look goes on is not missed, and the wait for the next
// look awaits that promise instead of sleeping on a clock.
type changes struct {
	page *rod.Page
	// obj is the promise made before the last look, or nil.
	obj   *proto.RuntimeRemoteObject
	since time.Time // when it was made
	// busy is set when the last wait ended by a change soon after its
	// look.
	busy bool
}

// next waits for a reason to look again, and makes the promise for the
// look after: it returns at once the first time; then at the page's next
// change since the promise was made, when the page's document goes away (a
// navigation: the promise fails), or after changeFallback; on a busy page
// no sooner than busyGap after the last look. It says false when ctx
// ended instead.
func (c *changes) next(ctx context.Context) bool {
	if !c.since.IsZero() {
		c.await(ctx)
	}
	if ctx.Err() != nil {
		return false
	}
	c.since = time.Now()
	obj, err := c.page.Evaluate(rod.Eval(changeJS, changeFallback.Milliseconds()).ByObject())
	if err == nil && obj.ObjectID != "" {
		c.obj = obj
	}
	return true
}

// await waits on the promise made before the last look (or, when the page
// could not make one, its document going away, a moment).
func (c *changes) await(ctx context.Context) {
	if c.obj == nil {
		sleepCtx(ctx, 50*time.Millisecond)
		return
	}
	wctx, cancel := context.WithTimeout(ctx, changeFallback+50*time.Millisecond)
	_, _ = proto.RuntimeAwaitPromise{PromiseObjectID: c.obj.ObjectID}.Call(c.page.Context(wctx))
	cancel()
	c.stop()
	quick := time.Since(c.since) < busyGap
	if quick && c.busy {
		sleepCtx(ctx, busyGap-time.Since(c.since))
	}
	c.busy = quick
}

// stop lets the page forget the last promise (which ends on its own
// within changeFallback).
func (c *changes) stop() {
	if c.obj == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.page.GetContext()), time.Second)
	defer cancel()
	_ = c.page.Context(ctx).Release(c.obj)
	c.obj = nil
}

// sleepCtx sleeps for d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
