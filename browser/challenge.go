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
	l, err := look(page, ms, true)
	if err != nil {
		return nil, fmt.Errorf("challenge detectors: %w", err)
	}
	if l.match >= 0 {
		c := tpl.Challenges[l.match]
		return &ChallengeError{Name: c.Name, Kind: c.Kind, URL: l.url}, nil
	}
	if len(l.builtin) != 2 {
		return nil, nil
	}
	return &ChallengeError{Name: l.builtin[0], Kind: templates.ChallengeKind(l.builtin[1]), Builtin: true, URL: l.url}, nil
}

// lookJS answers, in one round trip, what look asks of the page. For each
// selector (its alternatives; null for none) it says 1 when the first
// alternative that finds an element finds a visible one (rod's
// Element.Visible), 0 when none finds one or that one is hidden, and -1
// when the page alone cannot say: a chain that goes into a frame, which is
// entered by the browser's frame tree, or a selector the page rejects
// (locate says why). It returns the page's visible text when wantText is
// set, and what the built-in challenge detectors see when builtin is set.
const lookJS = `(sels, wantText, builtin) => {
	const chain = ` + chainJS + `;
	const textFinder = ` + textFinderJS + `;
	const pageText = ` + visibleTextJS + `;
	const challenge = ` + builtinChallengeJS + `;
	const visible = e => {
		const t = e.tagName ? e : e.parentElement;
		if (!t) return false;
		const r = t.getBoundingClientRect(), s = getComputedStyle(t);
		return s.display !== "none" && s.visibility !== "hidden" && !!(r.top || r.bottom || r.width || r.height);
	};
	// The element an alternative finds first, null when none, undefined
	// when the page alone cannot say.
	const first = a => {
		if (a.within && a.within.length) { const r = chain(a.within, a.css, a.text, 0); return !r ? null : r[1] === -1 ? r[0] : undefined; }
		if (a.kind === "css") return document.querySelector(a.css);
		if (a.kind === "xpath") return document.evaluate(a.xpath, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE).singleNodeValue;
		if (a.kind === "text") return textFinder(a.css, a.text);
		return undefined;
	};
	const verdict = alts => {
		for (const a of alts || []) {
			let e;
			try { e = first(a); } catch (err) { return -1; }
			if (e === undefined) return -1;
			if (e !== null) return visible(e) ? 1 : 0;
		}
		return 0;
	};
	return {sels: sels.map(verdict), text: wantText ? pageText() : "", builtin: builtin ? challenge() : null};
}`

// lookAlt is an alternative of a selector as lookJS takes it.
type lookAlt struct {
	Kind   string   `json:"kind"`
	CSS    string   `json:"css"`
	XPath  string   `json:"xpath"`
	Text   string   `json:"text"`
	Within []string `json:"within"`
}

// pageLook is what look saw.
type pageLook struct {
	url string
	// match is the first matcher the page matches, or -1.
	match int
	// builtin is the built-in challenge detector that fired and its
	// kind, or nil.
	builtin []string
}

// look checks matchers against the page, in order, and, when builtin is
// set, the built-in challenge detectors: the URL is read once, from the
// browser, and what the page itself holds (the selectors, its text, the
// detectors) with one script, lookJS. What that script cannot say is
// looked for as a step would (visibleOnce); if it fails, everything is
// (lookEach).
func look(page *rod.Page, ms []templates.Matcher, builtin bool) (pageLook, error) {
	l := pageLook{match: -1}
	if len(ms) == 0 && !builtin {
		return l, nil
	}
	info, err := targetInfo(page)
	if err != nil {
		return l, err
	}
	l.url = info.URL
	cand, sels, wantText, wantPage := lookFor(ms, l.url)
	wantPage = wantPage || builtin
	var got struct {
		Sels    []int    `json:"sels"`
		Text    string   `json:"text"`
		Builtin []string `json:"builtin"`
	}
	got.Sels = make([]int, len(ms))
	if wantPage {
		res, err := page.Eval(lookJS, sels, wantText, builtin)
		if err == nil {
			err = res.Value.Unmarshal(&got)
		}
		if err != nil || len(got.Sels) != len(ms) {
			return lookEach(page, ms, builtin, l)
		}
	}
	for i, m := range ms {
		if !cand[i] || m.Text != "" && !strings.Contains(strings.ToLower(got.Text), strings.ToLower(m.Text)) {
			continue
		}
		if m.Selector != nil && got.Sels[i] <= 0 {
			if got.Sels[i] == 0 {
				continue
			}
			el, _, err := visibleOnce(page, m.Selector)
			if err != nil {
				return l, err
			}
			if el == nil {
				continue
			}
		}
		l.match = i
		return l, nil
	}
	l.builtin = got.Builtin
	return l, nil
}

// lookFor says which matchers can match at u (their URL parts do), and
// what lookJS must look for: their selectors, whether their text, and
// whether it must look at the page at all.
func lookFor(ms []templates.Matcher, u string) (cand []bool, sels [][]lookAlt, wantText, wantPage bool) {
	cand = make([]bool, len(ms))
	sels = make([][]lookAlt, len(ms))
	for i, m := range ms {
		cand[i] = !m.IsZero() && (m.URL == "" || strings.Contains(u, m.URL)) && (m.URLRegex == nil || m.URLRegex.MatchString(u))
		if !cand[i] {
			continue
		}
		wantText = wantText || m.Text != ""
		wantPage = wantPage || m.Text != "" || m.Selector != nil
		if m.Selector != nil {
			for _, a := range m.Selector.Alternatives {
				sels[i] = append(sels[i], lookAlt{Kind: string(a.Kind), CSS: a.CSS, XPath: a.XPath, Text: a.Text, Within: a.Within})
			}
		}
	}
	return cand, sels, wantText, wantPage
}

// lookEach is look the long way: each matcher on its own (matches), then
// the built-in detectors.
func lookEach(page *rod.Page, ms []templates.Matcher, builtin bool, l pageLook) (pageLook, error) {
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
		ok, err := matches(page, m, l.url, text)
		if err != nil {
			return l, err
		}
		if ok {
			l.match = i
			return l, nil
		}
	}
	if !builtin {
		return l, nil
	}
	res, err := page.Eval(builtinChallengeJS)
	if err != nil {
		return l, fmt.Errorf("built-in detectors: %w", err)
	}
	if !res.Value.Nil() {
		for _, v := range res.Value.Arr() {
			l.builtin = append(l.builtin, v.Str())
		}
	}
	return l, nil
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
// -1 (look).
func firstMatch(page *rod.Page, ms []templates.Matcher) (int, error) {
	l, err := look(page, ms, false)
	return l.match, err
}
