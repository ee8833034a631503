package browser

import (
	"errors"
	"fmt"
	"strings"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/input"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/templates"
)

// innermostJS defines innermost(els, text): the innermost visible element
// of els whose visible text (or value, for inputs) contains text, or null.
const innermostJS = `const innermost = (els, text) => {
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const want = norm(text).toLowerCase();
	const visible = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
		return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
	const label = e => norm(e.tagName === "INPUT" ? (e.value || e.placeholder || "") : e.innerText).toLowerCase();
	const hits = Array.from(els).filter(e => visible(e) && label(e).includes(want));
	return hits.find(e => !hits.some(o => o !== e && e.contains(o))) || null;
};`

// textFinderJS returns the innermost visible element matching css (any
// element when empty) whose visible text (or value, for inputs) contains
// text, or null.
const textFinderJS = `(css, text) => {` + innermostJS + `
	return innermost(document.querySelectorAll(css || "body *"), text);
}`

// chainJS walks a chain (parts, then css or text) in one frame's document,
// through the open shadow roots of the elements each part matches, in
// document order. It returns [element, -1] for the first element the last
// part finds; or [frame, i] for the skip-th frame element (iframe, frame)
// a part matched before that, inside which the chain goes on with part i;
// or null. A frame is entered from Go, by the browser's frame tree, and
// not through contentDocument: a page's scripts can reach a frame of
// another origin that way (document.domain), the frame tree cannot be
// lied to.
const chainJS = `(parts, css, text, skip) => {` + innermostJS + `
	const last = scope => text === "" ? scope.querySelector(css) :
		innermost(scope.querySelectorAll(css || (scope.nodeType === Node.DOCUMENT_NODE ? "body *" : "*")), text);
	let frames = 0;
	const walk = (scope, i) => {
		if (i === parts.length) { const e = last(scope); return e ? [e, -1] : null; }
		for (const h of scope.querySelectorAll(parts[i])) {
			if (h.shadowRoot) { const r = walk(h.shadowRoot, i + 1); if (r) return r; }
			else if ((h.localName === "iframe" || h.localName === "frame") && frames++ === skip) return [h, i + 1];
		}
		return null;
	};
	return walk(document, 0);
}`

// found is an element a selector found, with the page of the frame that
// holds it: the page itself, or a same-origin frame a chain went into.
// What is typed into the element is checked against that frame.
type found struct {
	page *rod.Page
	el   *rod.Element
	alt  *templates.Alternative
}

// findOnce tries each alternative of sel once, without waiting, and returns
// the element and the alternative that matched (nil when none did).
func findOnce(page *rod.Page, sel *templates.Selector) (*rod.Element, *templates.Alternative, error) {
	f, _, err := locate(page, sel, false)
	return f.el, f.alt, err
}

// visibleOnce is findOnce restricted to visible elements.
func visibleOnce(page *rod.Page, sel *templates.Selector) (*rod.Element, *templates.Alternative, error) {
	f, _, err := locate(page, sel, true)
	return f.el, f.alt, err
}

// locate tries each alternative of sel once, without waiting; when
// visible is set, the element found must be visible. The note says why a
// chain could not go on (a cross-origin frame), for the error when nothing
// turns up.
func locate(page *rod.Page, sel *templates.Selector, visible bool) (found, string, error) {
	if sel == nil {
		return found{}, "", errors.New("step has no selector")
	}
	note := ""
	for i := range sel.Alternatives {
		alt := &sel.Alternatives[i]
		p, el, why, err := findAlternative(page, alt)
		if err != nil {
			if isSyntaxError(err) {
				return found{}, "", fmt.Errorf("selector %q is not valid on this page: %w", alt.Raw, err)
			}
			return found{}, "", err
		}
		if note == "" {
			note = why
		}
		if el == nil {
			continue
		}
		// The first alternative that matches decides, visible or not, as
		// it always has.
		if visible {
			if vis, err := el.Visible(); err != nil || !vis {
				return found{}, "", nil
			}
		}
		return found{page: p, el: el, alt: alt}, "", nil
	}
	return found{}, note, nil
}

// findAlternative finds alt's first element on page, or nil, and the
// page of the frame that holds it.
func findAlternative(page *rod.Page, alt *templates.Alternative) (*rod.Page, *rod.Element, string, error) {
	if len(alt.Within) > 0 {
		return findChain(page, alt, alt.Within)
	}
	var (
		ok  bool
		el  *rod.Element
		err error
	)
	switch alt.Kind {
	case templates.SelCSS:
		ok, el, err = page.Has(alt.CSS)
	case templates.SelXPath:
		ok, el, err = page.HasX(alt.XPath)
	case templates.SelText:
		el, err = page.Sleeper(rod.NotFoundSleeper).ElementByJS(rod.Eval(textFinderJS, alt.CSS, alt.Text))
		ok = err == nil
		if errors.Is(err, &rod.ElementNotFoundError{}) {
			err = nil
		}
	}
	if err != nil || !ok {
		return nil, nil, "", err
	}
	return page, el, "", nil
}

// maxChainFrames bounds the frames one try of a chain looks into: each
// one costs a walk of the page.
const maxChainFrames = 32

// findChain finds alt, a chain whose parts still to walk are parts, in
// page's frame: the first element in document order, looking into frames
// where a part matched one. It returns the page of the frame that holds
// the element, and why a frame was not entered.
func findChain(page *rod.Page, alt *templates.Alternative, parts []string) (*rod.Page, *rod.Element, string, error) {
	note := ""
	for skip := 0; skip < maxChainFrames; skip++ {
		el, next, err := walkChain(page, alt, parts, skip)
		if err != nil || el == nil {
			return nil, nil, note, err
		}
		if next < 0 {
			return page, el, note, nil
		}
		p, inner, why, err := findInFrame(page, el, alt, parts, next)
		if err != nil || inner != nil {
			return p, inner, note, err
		}
		if note == "" {
			note = why
		}
	}
	return nil, nil, note, nil
}

// findInFrame goes on with a chain inside the frame that the frame element
// el holds, from part next, when it may be entered.
func findInFrame(page *rod.Page, el *rod.Element, alt *templates.Alternative, parts []string, next int) (*rod.Page, *rod.Element, string, error) {
	host := parts[next-1]
	fp, why := enterFrame(page, el, host)
	if fp == nil {
		return nil, nil, why, nil
	}
	p, inner, why, err := findChain(fp, alt, parts[next:])
	if err != nil && !isSyntaxError(err) {
		// A frame that is loading has no document to look in yet.
		return nil, nil, fmt.Sprintf("the page of the frame %s did not answer: %v", host, err), nil
	}
	return p, inner, why, err
}

// walkChain runs chainJS in page's frame: the element found and -1, or a
// frame element and the index of the part to go on with inside it, or nil.
func walkChain(page *rod.Page, alt *templates.Alternative, parts []string, skip int) (*rod.Element, int, error) {
	res, err := page.Evaluate(rod.Eval(chainJS, parts, alt.CSS, alt.Text, skip).ByObject())
	if err != nil {
		return nil, 0, err
	}
	if res.Subtype != proto.RuntimeRemoteObjectSubtypeArray {
		return nil, 0, nil
	}
	defer func() { _ = page.Release(res) }()
	props, err := proto.RuntimeGetProperties{ObjectID: res.ObjectID, OwnProperties: true}.Call(page)
	if err != nil {
		return nil, 0, err
	}
	var obj *proto.RuntimeRemoteObject
	next := 0
	for _, p := range props.Result {
		switch p.Name {
		case "0":
			obj = p.Value
		case "1":
			next = p.Value.Value.Int()
		}
	}
	if obj == nil || obj.Subtype != proto.RuntimeRemoteObjectSubtypeNode {
		return nil, 0, errors.New("the chain's walk returned no element")
	}
	el, err := page.ElementFromObject(obj)
	return el, next, err
}

// enterFrame returns the page of the frame that the frame element el
// holds, when the browser's frame tree says it is a child of page's frame
// of the same origin; else nil and why. host is the part that matched el.
func enterFrame(page *rod.Page, el *rod.Element, host string) (*rod.Page, string) {
	fp, err := el.Frame()
	if err != nil {
		return nil, fmt.Sprintf("the frame %s matched has no page yet", host)
	}
	tree, err := proto.PageGetFrameTree{}.Call(page)
	if err != nil {
		return nil, fmt.Sprintf("the frame tree could not be read to enter %s: %v", host, err)
	}
	parent, child := findFrame(tree.FrameTree, page.FrameID), findFrame(tree.FrameTree, fp.FrameID)
	switch {
	case parent == nil || child == nil || child.ParentID != parent.ID:
		return nil, fmt.Sprintf("the frame %s matched has no page yet", host)
	case child.SecurityOrigin != parent.SecurityOrigin:
		return nil, fmt.Sprintf("%s is a frame of %s, another origin than its page's (%s): a selector reaches into same-origin frames only; a frame step enters the others",
			host, child.SecurityOrigin, parent.SecurityOrigin)
	}
	return fp, ""
}

// deepActiveJS is the element that holds a document's focus, followed
// through open shadow roots: the document's activeElement is the shadow
// host.
const deepActiveJS = `() => {
	let a = document.activeElement;
	while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
	return a;
}`

// focusedElement is the element a key press goes to: the focus followed
// through open shadow roots and into the focused frame, entered by the
// browser's DOM (which knows a frame's document whatever its origin), or
// nil.
func focusedElement(page *rod.Page) (*rod.Element, error) {
	for range 16 {
		active, err := page.Evaluate(rod.Eval(deepActiveJS).ByObject())
		if err != nil || active.ObjectID == "" {
			return nil, err
		}
		el, err := page.ElementFromObject(active)
		if err != nil {
			return nil, err
		}
		fp, err := el.Frame()
		if err != nil || fp.FrameID == "" {
			return el, nil // not a frame element
		}
		page = fp
	}
	return nil, errors.New("frames nested too deep to find the focus")
}

func isSyntaxError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "is not a valid selector") || strings.Contains(s, "not a valid XPath")
}

var namedKeys = map[string]input.Key{
	"Enter": input.Enter, "Tab": input.Tab, "Escape": input.Escape, "Backspace": input.Backspace,
	"Delete": input.Delete, "Space": input.Space, "ArrowUp": input.ArrowUp, "ArrowDown": input.ArrowDown,
	"ArrowLeft": input.ArrowLeft, "ArrowRight": input.ArrowRight, "Home": input.Home, "End": input.End,
	"PageUp": input.PageUp, "PageDown": input.PageDown,
}

// typeKey presses and releases k on p, each event bounded by p's context.
// rod's page.Keyboard sends on the page it was made for, ignoring the
// context a copy of that page is bound to, so a deadline would not stop
// it. Templates and the console press no modifier keys.
func typeKey(p *rod.Page, k input.Key) error {
	if err := k.Encode(proto.InputDispatchKeyEventTypeKeyDown, 0).Call(p); err != nil {
		return err
	}
	return k.Encode(proto.InputDispatchKeyEventTypeKeyUp, 0).Call(p)
}

// keyFor maps a key a template may press (templates.ValidKey) to a key.
func keyFor(name string) (input.Key, bool) {
	if !templates.ValidKey(name) {
		return 0, false
	}
	if k, ok := namedKeys[name]; ok {
		return k, true
	}
	if len(name) == 1 {
		return input.Key(name[0]), true
	}
	return 0, false
}
