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

// textFinderJS returns the innermost visible element matching css (any
// element when empty) whose visible text (or value, for inputs) contains
// text, or null.
const textFinderJS = `(css, text) => {
	const norm = s => (s || "").replace(/\s+/g, " ").trim();
	const want = norm(text).toLowerCase();
	const visible = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
		return r.width > 0 && r.height > 0 && s.visibility !== "hidden" && s.display !== "none"; };
	const label = e => norm(e.tagName === "INPUT" ? (e.value || e.placeholder || "") : e.innerText).toLowerCase();
	const all = Array.from(document.querySelectorAll(css || "body *"));
	const hits = all.filter(e => visible(e) && label(e).includes(want));
	return hits.find(e => !hits.some(o => o !== e && e.contains(o))) || null;
}`

// findOnce tries each alternative of sel once, without waiting, and returns
// the element and the alternative that matched (nil when none did).
func findOnce(page *rod.Page, sel *templates.Selector) (*rod.Element, *templates.Alternative, error) {
	if sel == nil {
		return nil, nil, errors.New("step has no selector")
	}
	for i := range sel.Alternatives {
		alt := &sel.Alternatives[i]
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
		if err != nil {
			if isSyntaxError(err) {
				return nil, nil, fmt.Errorf("selector %q is not valid on this page: %w", alt.Raw, err)
			}
			return nil, nil, err
		}
		if ok {
			return el, alt, nil
		}
	}
	return nil, nil, nil
}

func isSyntaxError(err error) bool {
	s := err.Error()
	return strings.Contains(s, "is not a valid selector") || strings.Contains(s, "not a valid XPath")
}

// visibleOnce is findOnce restricted to visible elements.
func visibleOnce(page *rod.Page, sel *templates.Selector) (*rod.Element, *templates.Alternative, error) {
	el, alt, err := findOnce(page, sel)
	if err != nil || el == nil {
		return nil, nil, err
	}
	vis, err := el.Visible()
	if err != nil || !vis {
		return nil, nil, nil
	}
	return el, alt, nil
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
