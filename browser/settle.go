package browser

import (
	"context"
	"sync"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// settleCap bounds settle's wait for a navigation's load: a page that never
// finishes loading does not hold a flow up (the next step's own wait finds
// what it needs as soon as it is there).
const settleCap = 5 * time.Second

// settle runs action (a click, a key press, a script) and, when it started
// a navigation of the page's frame (or of the top frame, which takes the
// frame with it), waits for that navigation's load: no longer, and not at
// all when it started none. A step whose effect comes later (a script that
// answers a click after a request of its own) is synchronised with by the
// next step's wait, for an element, a URL or a condition, as it would be
// after any other step.
//
// The navigation is seen from DevTools events, subscribed to before the
// action. When the action returns and none was seen yet, one round trip
// through the page's task queue lets a navigation the action scheduled (a
// form's submission, a script's location change in a zero-delay timer)
// announce itself: DevTools sends the events before the answer.
func settle(ctx context.Context, page *rod.Page, action func() error) error {
	sctx, cancel := context.WithTimeout(ctx, settleCap)
	defer cancel()
	nav := watchNavigation(sctx, page)
	if err := action(); err != nil {
		return err
	}
	if !nav.seen() {
		_, err := page.Context(sctx).Eval(`() => new Promise(r => setTimeout(r, 0))`)
		if err != nil && sctx.Err() == nil {
			// The document went away under the probe: a navigation.
			nav.note(page.FrameID, navRequested)
		}
	}
	nav.wait(sctx)
	return nil
}

// navigate opens target in page and waits for its load, within ctx: until
// the frame that navigates (the top one) stopped loading, after its load
// event. It says which of the two failed: "open" or "load".
func navigate(ctx context.Context, page *rod.Page, target string) (string, error) {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	nav := watchNavigation(wctx, page)
	if err := page.Context(ctx).Navigate(target); err != nil {
		return "open", err
	}
	nav.note(nav.top, navRequested)
	nav.wait(ctx)
	if err := ctx.Err(); err != nil {
		return "load", err
	}
	return "", nil
}

// navEvent is what DevTools says of a frame's navigation.
type navEvent int

const (
	navRequested navEvent = iota // Page.frameRequestedNavigation, in the same tab
	navStarted                   // Page.frameStartedLoading
	navStopped                   // Page.frameStoppedLoading: loaded (after its load event) or given up
)

// navWatch follows the navigations of a page's frame and of its top frame
// from the page's DevTools events.
type navWatch struct {
	own, top proto.PageFrameID
	changed  chan struct{} // a value after each event of own or top

	mu        sync.Mutex
	requested bool
	started   map[proto.PageFrameID]bool
	stopped   map[proto.PageFrameID]bool
}

// watchNavigation subscribes to page's navigation events until ctx ends.
func watchNavigation(ctx context.Context, page *rod.Page) *navWatch {
	w := &navWatch{
		own: page.FrameID, top: proto.PageFrameID(page.TargetID), changed: make(chan struct{}, 1),
		started: map[proto.PageFrameID]bool{}, stopped: map[proto.PageFrameID]bool{},
	}
	// rod enables the Page domain on every page it makes; should this one
	// not have it, it stays enabled (EachEvent would disable it after).
	page.EnableDomain(&proto.PageEnable{})
	wait := page.Context(ctx).EachEvent(
		func(e *proto.PageFrameRequestedNavigation) {
			if e.Disposition == proto.PageClientNavigationDispositionCurrentTab {
				w.note(e.FrameID, navRequested)
			}
		},
		func(e *proto.PageFrameStartedLoading) { w.note(e.FrameID, navStarted) },
		func(e *proto.PageFrameStoppedLoading) { w.note(e.FrameID, navStopped) },
	)
	go wait()
	return w
}

// note records ev for frame f, when f is the page's frame or its top.
func (w *navWatch) note(f proto.PageFrameID, ev navEvent) {
	if f != w.own && f != w.top {
		return
	}
	w.mu.Lock()
	switch ev {
	case navRequested:
		w.requested = true
	case navStarted:
		w.started[f] = true
		delete(w.stopped, f)
	case navStopped:
		w.stopped[f] = w.started[f]
	}
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
}

// seen says whether a navigation was requested or started.
func (w *navWatch) seen() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.requested || len(w.started) > 0
}

// settled says whether no navigation started, or the one that did has
// loaded: the top frame's when the top navigates, else the page's own.
func (w *navWatch) settled() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	switch {
	case w.started[w.top]:
		return w.stopped[w.top]
	case w.started[w.own]:
		return w.stopped[w.own]
	}
	return !w.requested
}

// wait returns when the navigation, if any, has loaded, or when ctx ends.
func (w *navWatch) wait(ctx context.Context) {
	for !w.settled() {
		select {
		case <-ctx.Done():
			return
		case <-w.changed:
		}
	}
}
