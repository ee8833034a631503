package browser

import (
	"fmt"
	"strings"

	"github.com/go-rod/rod"

	"github.com/rotator-pam/rotator/templates"
)

// ChallengeError ends a flow when the page shows something only a person can
// get past. Callers pause the job and flag it for an operator; nothing was
// guessed.
type ChallengeError struct {
	// Name is the detector: a template's challenge name, or a built-in one
	// (recaptcha, hcaptcha, turnstile, arkose, cloudflare, trust-prompt).
	Name    string
	Kind    templates.ChallengeKind
	Builtin bool
	URL     string
	// Flow and Step locate where it appeared (after Step ran).
	Flow string
	Step string
	// Screenshot is the PNG saved in the run's artifact folder, if any.
	Screenshot string
}

func (e *ChallengeError) Error() string {
	src := "template detector"
	if e.Builtin {
		src = "built-in detector"
	}
	return fmt.Sprintf("%s challenge (%s %q) at %s after %s step %s", e.Kind, src, e.Name, e.URL, e.Flow, e.Step)
}

// builtinChallengeJS looks for the common CAPTCHA widgets, only when
// visible and of a size a person could interact with (an invisible
// reCAPTCHA badge on a login page is not a challenge), and for trust-this-
// browser prompts in headings and the title (not in a "remember me"
// checkbox, which is optional); in the document and its open shadow roots.
const builtinChallengeJS = `() => {` + deepJS + `
	const big = e => { const r = e.getBoundingClientRect(); const s = getComputedStyle(e);
		return r.width > 30 && r.height > 30 && s.visibility !== "hidden" && s.display !== "none" && s.opacity !== "0"; };
	for (const f of deepAll(document, "iframe")) {
		const s = (f.getAttribute("src") || "").toLowerCase();
		if (!big(f)) continue;
		if (s.includes("recaptcha") && (s.includes("anchor") || s.includes("bframe"))) return ["recaptcha", "captcha"];
		if (s.includes("hcaptcha.com")) return ["hcaptcha", "captcha"];
		if (s.includes("challenges.cloudflare.com")) return ["turnstile", "captcha"];
		if (s.includes("arkoselabs.com") || s.includes("funcaptcha.com")) return ["arkose", "captcha"];
	}
	for (const sel of ["#FunCaptcha", "#arkose-iframe", "#arkoseIframe"]) {
		const e = deepAll(document, sel)[0]; if (e && big(e)) return ["arkose", "captcha"];
	}
	if (/^just a moment\.\.\.$/i.test(document.title.trim())) return ["cloudflare", "captcha"];
	const trust = /\b(trust|remember) this (browser|device|computer)\b|don.?t ask (again )?on this (device|browser)|is this (a )?(trusted|your) (device|browser)/i;
	const heads = [document.title];
	for (const h of deepAll(document, "h1, h2, h3, [role=heading], [role=dialog] legend")) {
		const r = h.getBoundingClientRect(); if (r.width > 0 && r.height > 0) heads.push(h.innerText || "");
	}
	if (heads.some(t => trust.test(t))) return ["trust-prompt", "trust_browser"];
	return null;
}`

// detectChallenge checks the page against the template's detectors, then
// the built-in ones. It returns nil when there is no challenge.
func detectChallenge(page *rod.Page, tpl *templates.Template) (*ChallengeError, error) {
	ms := make([]templates.Matcher, len(tpl.Challenges))
	for i, c := range tpl.Challenges {
		ms[i] = c.Matcher
	}
	i, err := firstMatch(page, ms)
	if err != nil {
		return nil, fmt.Errorf("challenge detectors: %w", err)
	}
	info, err := page.Info()
	if err != nil {
		return nil, err
	}
	u := info.URL
	if i >= 0 {
		c := tpl.Challenges[i]
		return &ChallengeError{Name: c.Name, Kind: c.Kind, URL: u}, nil
	}
	res, err := page.Eval(builtinChallengeJS)
	if err != nil {
		return nil, fmt.Errorf("built-in challenge detectors: %w", err)
	}
	if res.Value.Nil() {
		return nil, nil
	}
	arr := res.Value.Arr()
	if len(arr) != 2 {
		return nil, nil
	}
	return &ChallengeError{Name: arr[0].Str(), Kind: templates.ChallengeKind(arr[1].Str()), Builtin: true, URL: u}, nil
}

// matches reports whether every set field of m matches the page.
func matches(page *rod.Page, m templates.Matcher, u string, text func() (string, error)) (bool, error) {
	if m.IsZero() {
		return false, nil
	}
	if m.URL != "" && !strings.Contains(u, m.URL) {
		return false, nil
	}
	if m.URLRegex != nil && !m.URLRegex.MatchString(u) {
		return false, nil
	}
	if m.Text != "" {
		t, err := text()
		if err != nil {
			return false, err
		}
		if !strings.Contains(strings.ToLower(t), strings.ToLower(m.Text)) {
			return false, nil
		}
	}
	if m.Selector != nil {
		el, _, err := visibleOnce(page, m.Selector)
		if err != nil {
			return false, err
		}
		if el == nil {
			return false, nil
		}
	}
	return true, nil
}

// MatchesAny reports whether the page matches any of ms (a template's
// rejections, say), checked once.
func MatchesAny(page *rod.Page, ms []templates.Matcher) (bool, error) {
	i, err := firstMatch(page, ms)
	return i >= 0, err
}

// firstMatch returns the index of the first matcher the page matches, or
// -1; the URL is read once and the page's text at most once.
func firstMatch(page *rod.Page, ms []templates.Matcher) (int, error) {
	if len(ms) == 0 {
		return -1, nil
	}
	info, err := page.Info()
	if err != nil {
		return -1, err
	}
	var body *string
	text := func() (string, error) {
		if body == nil {
			t, err := visibleText(page)
			if err != nil {
				return "", err
			}
			body = &t
		}
		return *body, nil
	}
	for i, m := range ms {
		ok, err := matches(page, m, info.URL, text)
		if err != nil {
			return -1, err
		}
		if ok {
			return i, nil
		}
	}
	return -1, nil
}
