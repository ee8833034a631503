package browser

import (
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

// The load-time selector check (templates.ParseAlternative) agrees with
// Chromium's own parser: what it refuses, the browser throws on, and what
// it accepts, the browser runs.
func TestSelectorCheckAgreesWithChromium(t *testing.T) {
	t.Parallel()
	css := []string{
		// accepted
		`#username`, `input[name="session[password]"]`, `div > p ~ span + em`, `a[href^="https"]`, `#a\.b`,
		`li:nth-child(2n+1)`, `a:first-of-type`, `input:checked`, `button:enabled`, `:root`, `:not(.a, .b)`,
		`[data-testid="x" i]`, `:is(a, b) > span`, `form :where(.x, #y)`, `div:has(> a)`, `div:has(+ p, ~ ul)`,
		`input:focus-visible`, `input:placeholder-shown`, `input:required`, `input:invalid`, `:scope > div`,
		`:dir(ltr)`, `:defined`, `dialog:modal`, `input::placeholder`, `p::first-line`, `:lang(en)`,
		`input[type=password]:not([disabled])`, `*`, `a:is(:hover, :focus)`, `body :is(:where(a), b)`,
		// refused
		`'"div[jsname=YPqjbf] input[type=password]"'`, `"#username"`, `input[name=user`, `div:haschild(a)`,
		`div:contains(Save) > a`, `#a..b`, `div >`, `> div`, `a,,b`, `:is()`, `:is(a:bogus)`, `:bogus`,
		`div:has()`, `a[href=]`, `input:matches(x)`, `div::`, `p:nth-child(n+)`,
	}
	// rotator is stricter than Chromium on purpose here: Chromium closes a
	// bracket or parenthesis left open at the end, and drops what it cannot
	// parse inside :is() and :where() (a forgiving list), so each of these
	// runs and matches less than its author meant, or nothing.
	stricter := map[string]bool{`input[name=user`: true, `:is(a`: true, `:is()`: true, `:is(a:bogus)`: true}
	for sel := range stricter {
		css = append(css, sel)
	}
	xpaths := []string{
		`//input[@name='q']`, `//div[contains(., 'Save')]/button`, `(//a)[1]`, `//*[@id="x"]/..`,
		`//div[@@id]`, `//input[`, `//div[contains(.,'x')`, `///a`, `//a[1]]`, `//a)`, `//a[@x="]"]`, `concat('a', "b")`,
	}
	page := newPage(t)
	throws := func(js, sel string) bool {
		t.Helper()
		res, err := page.Eval(js, sel)
		if err != nil {
			t.Fatal(err)
		}
		return res.Value.Bool()
	}
	for _, sel := range css {
		_, err := templates.ParseAlternative("css=" + sel)
		browserRejects := throws(`(s) => { try { document.querySelectorAll(s); return false } catch (e) { return true } }`, sel)
		if (err != nil) != (browserRejects || stricter[sel]) {
			t.Errorf("CSS %s: rotator's check says %v, Chromium rejects it: %v", sel, err, browserRejects)
		}
		if stricter[sel] && browserRejects {
			t.Errorf("CSS %s: Chromium now rejects it too; take it out of stricter", sel)
		}
	}
	for _, x := range xpaths {
		_, err := templates.ParseAlternative("xpath=" + x)
		browserRejects := throws(`(s) => { try { document.evaluate(s, document, null, XPathResult.ANY_TYPE, null); return false } catch (e) { return true } }`, x)
		if (err != nil) != browserRejects {
			t.Errorf("XPath %s: rotator's check says %v, Chromium rejects it: %v", x, err, browserRejects)
		}
	}
}
