package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"github.com/rotator-pam/rotator/internal/clip"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// safeName makes a file name from text that may come from a template:
// letters, digits, '.', '_' and '-' only.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
	s = strings.Trim(s, "._")
	if s == "" {
		s = "screenshot"
	}
	return clip.String(s, 83)
}

// eachFieldJS defines each(sel, f): f for every element matching sel in the
// page, in its open shadow roots and in the frames it can reach (its own
// origin's).
const eachFieldJS = `const each = (sel, f) => {
	const visit = scope => {
		for (const el of scope.querySelectorAll(sel)) f(el);
		for (const h of scope.querySelectorAll("*")) {
			let inner = h.shadowRoot;
			if (!inner && (h.localName === "iframe" || h.localName === "frame")) { try { inner = h.contentDocument; } catch (_) {} }
			if (inner) visit(inner);
		}
	};
	visit(document);
};`

// maskFields draws every input's and textarea's text as dots, remembering
// each one's own setting; unmaskFields puts it back. Fields in open shadow
// roots and same-origin frames too: a template types into those.
const (
	maskFields = `() => {` + eachFieldJS + ` each("input, textarea", el => {
		el.dataset.rotatorMask = el.style.getPropertyValue("-webkit-text-security") + "|" + el.style.getPropertyPriority("-webkit-text-security");
		el.style.setProperty("-webkit-text-security", "disc", "important"); }); }`
	unmaskFields = `() => {` + eachFieldJS + ` each("input[data-rotator-mask], textarea[data-rotator-mask]", el => {
		const [v, p] = el.dataset.rotatorMask.split("|"); delete el.dataset.rotatorMask;
		if (v) el.style.setProperty("-webkit-text-security", v, p); else el.style.removeProperty("-webkit-text-security"); }); }`
)

// save writes a screenshot (data nil) or data to the artifact folder and
// returns its path, or "" when there is no folder or it failed. It is the
// one place artifacts are written: every secret of the run (the
// passwords, the TOTP codes typed, the page's cookies) is replaced by
// [redacted] in the name and, but for screenshots, in the data.
func (r *Runner) save(page *rod.Page, name string, data []byte) string {
	if r.ArtifactDir == "" {
		return ""
	}
	if err := os.MkdirAll(r.ArtifactDir, 0o700); err != nil {
		r.logger().Warn("artifact folder", "err", err)
		return ""
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	red := r.redactor(page.Context(ctx))
	if data == nil {
		// What fields hold is drawn as dots in the picture: a TOTP code or
		// a password in a text field would otherwise be in the file.
		// (Through the CSSOM, which a page's CSP does not block.)
		_, merr := page.Context(ctx).Eval(maskFields)
		png, err := page.Context(ctx).Screenshot(false, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng})
		if merr == nil {
			page.Context(ctx).Eval(unmaskFields)
		}
		if err != nil {
			r.logger().Warn("screenshot", "err", err)
			return ""
		}
		data = png
	} else if !strings.HasSuffix(name, ".png") {
		// Text: a page or a report may quote a secret. (A picture's
		// fields are masked before it is taken.)
		data = []byte(red.Replace(string(data)))
	}
	p := filepath.Join(r.ArtifactDir, artifactName(red, name))
	if err := os.WriteFile(p, data, 0o600); err != nil {
		r.logger().Warn("save artifact", "err", err)
		return ""
	}
	return p
}

// artifactName makes a file name from name (its extension is the
// engine's own: .png, .html, .txt), with the run's secrets redacted before
// the name is made safe.
func artifactName(red *strings.Replacer, name string) string {
	ext := filepath.Ext(name)
	if ext != ".png" && ext != ".html" && ext != ".txt" {
		ext = ""
	}
	stem := strings.ReplaceAll(red.Replace(strings.TrimSuffix(name, ext)), secret.Redacted, "redacted")
	return safeName(stem) + ext
}

// minCookieSecret: shorter cookie values ("en", "1") are not secrets, and
// replacing them would garble the page.
const minCookieSecret = 8

// redactor replaces every secret of the run, as typed and as HTML, URLs
// and JSON spell it, by [redacted]. The page's cookies are read from the
// browser, when it answers.
func (r *Runner) redactor(page *rod.Page) *strings.Replacer {
	var secrets []string
	for _, s := range append([]secret.String{r.Values.Password, r.Values.NewPassword}, append(r.codes, r.Secrets...)...) {
		if !s.IsZero() {
			secrets = append(secrets, s.Reveal())
		}
	}
	if page != nil {
		if res, err := (proto.NetworkGetCookies{}).Call(page); err == nil {
			for _, c := range res.Cookies {
				if len(c.Value) >= minCookieSecret {
					secrets = append(secrets, c.Value)
				}
			}
		}
	}
	return newRedactor(secrets)
}

// formEncode is how a browser writes s in a form sent by GET or POST
// (application/x-www-form-urlencoded, WHATWG): unlike Go's QueryEscape it
// leaves '*' and escapes '~'.
func formEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '*', c == '-', c == '.', c == '_':
			b.WriteByte(c)
		case c == ' ':
			b.WriteByte('+')
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// uriComponent is JavaScript's encodeURIComponent(s), as a page's script
// puts s into a URL.
func uriComponent(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.IndexByte("-_.!~*'()", c) >= 0:
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

func newRedactor(secrets []string) *strings.Replacer {
	seen := map[string]bool{}
	var forms []string
	for _, s := range secrets {
		js, _ := json.Marshal(s)
		for _, f := range []string{s, html.EscapeString(s), url.QueryEscape(s), url.PathEscape(s), strings.Trim(string(js), `"`),
			formEncode(s), uriComponent(s)} {
			if f != "" && !seen[f] {
				seen[f] = true
				forms = append(forms, f)
			}
		}
	}
	// Longest first: where two forms start at the same place, the
	// replacer takes the first listed.
	sort.SliceStable(forms, func(i, j int) bool { return len(forms[i]) > len(forms[j]) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, secret.Redacted)
	}
	return strings.NewReplacer(pairs...)
}

// scrubHTML drops what a person typed from a page's HTML: every input's
// value attribute (a page may copy the live value there, as React-style
// controlled inputs do) and every textarea's text (and value attribute). Secrets shown elsewhere
// are left to the redactor.
func scrubHTML(src string) (string, error) {
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return "", err
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Input:
				n.Attr = slices.DeleteFunc(n.Attr, func(a html.Attribute) bool { return strings.EqualFold(a.Key, "value") })
			case atom.Textarea:
				n.Attr = slices.DeleteFunc(n.Attr, func(a html.Attribute) bool { return strings.EqualFold(a.Key, "value") })
				for c := n.FirstChild; c != nil; c = n.FirstChild {
					n.RemoveChild(c)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	var b strings.Builder
	if err := html.Render(&b, doc); err != nil {
		return "", err
	}
	return b.String(), nil
}

// shadowHTMLJS is the page's HTML with every open shadow root in it, as
// declarative shadow DOM (<template shadowrootmode="open"> in its host):
// a form in a shadow root is where the failure is. Closed roots stay out,
// as the page meant. null where the browser has no getHTML.
const shadowHTMLJS = `() => {
	const html = document.documentElement;
	if (!html || typeof html.getHTML !== "function") return null;
	const roots = [];
	const collect = scope => { for (const e of scope.querySelectorAll("*")) if (e.shadowRoot) { roots.push(e.shadowRoot); collect(e.shadowRoot); } };
	collect(document);
	const shell = html.cloneNode(false).outerHTML, cut = shell.lastIndexOf("</");
	return shell.slice(0, cut) + html.getHTML({shadowRoots: roots}) + shell.slice(cut);
}`

// pageHTML is the page's HTML with its open shadow roots, else as the
// browser's DOM has it (a page may break getHTML).
func pageHTML(p *rod.Page) (string, error) {
	if res, err := p.Eval(shadowHTMLJS); err == nil {
		if s, ok := res.Value.Val().(string); ok && s != "" {
			return s, nil
		}
	}
	return p.HTML()
}

// fail records a failed step: screenshot, HTML, URL, step and selector in
// the artifact folder, and the candidates the page offers.
func (r *Runner) fail(page *rod.Page, se *StepError) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := page.Context(ctx)
	if info, err := targetInfo(p); err == nil {
		// A form sent by GET puts what was typed in the URL.
		se.URL = r.redactor(nil).Replace(info.URL)
	}
	base := fmt.Sprintf("%s-step%s-failed", se.Flow, se.Path)
	if se.Step.Target != nil {
		se.Candidates = candidates(p, se.Step)
		r.cropCandidates(p, se.Candidates, base)
	}
	if s := r.save(p, base+".png", nil); s != "" {
		se.Artifacts = append(se.Artifacts, s)
	}
	if page, err := pageHTML(p); err == nil {
		if clean, err := scrubHTML(page); err != nil {
			r.logger().Warn("page HTML not saved", "err", err)
		} else if s := r.save(p, base+".html", []byte(clean)); s != "" {
			se.Artifacts = append(se.Artifacts, s)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "template: %s\nflow: %s\nstep: %s (%s)\n", se.Template, se.Flow, se.Path, se.Step.Describe())
	if se.File != "" {
		fmt.Fprintf(&b, "where: %s:%d:%d\n", se.File, se.Step.Line, se.Step.Column)
	}
	if se.Step.Target != nil {
		fmt.Fprintf(&b, "selector: %s\n", se.Step.Target.String())
	}
	fmt.Fprintf(&b, "url: %s\nerror: %v\n", se.URL, se.Err)
	for _, c := range se.Candidates {
		fmt.Fprintf(&b, "candidate: %s  (%s)\n", c.Selector, c.Why)
	}
	if s := r.save(p, base+".txt", []byte(b.String())); s != "" {
		se.Artifacts = append(se.Artifacts, s)
	}
}

// cropMargin is how much of what surrounds a candidate its crop shows: its
// label, its neighbours.
const cropMargin = 32

// cropCandidates saves a picture of each candidate, its surroundings
// included, with every field's text drawn as dots, next to the failure's
// other artifacts, so that an author picks one by sight (template fix).
func (r *Runner) cropCandidates(page *rod.Page, cands []Candidate, base string) {
	if r.ArtifactDir == "" || len(cands) == 0 {
		return
	}
	if _, err := page.Eval(maskFields); err != nil {
		return // no picture rather than one showing what fields hold
	}
	defer page.Eval(unmaskFields)
	for i := range cands {
		png, err := cropOf(page, cands[i].Selector)
		if err != nil {
			continue
		}
		cands[i].Crop = r.save(page, fmt.Sprintf("%s-candidate%d.png", base, i+1), png)
	}
}

// cropOf is a picture of the element sel finds, with cropMargin around it.
func cropOf(page *rod.Page, sel string) ([]byte, error) {
	alt, err := templates.ParseAlternative(sel)
	if err != nil {
		return nil, err
	}
	el, _, err := findOnce(page, &templates.Selector{Alternatives: []templates.Alternative{alt}})
	if err != nil || el == nil {
		return nil, fmt.Errorf("%s: not found", sel)
	}
	if err := el.ScrollIntoView(); err != nil {
		return nil, err
	}
	shape, err := el.Shape()
	if err != nil {
		return nil, err
	}
	box := shape.Box()
	x, y := max(box.X-cropMargin, 0), max(box.Y-cropMargin, 0)
	return page.Screenshot(false, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng,
		Clip: &proto.PageViewport{X: x, Y: y, Width: box.Width + box.X - x + cropMargin, Height: box.Height + box.Y - y + cropMargin, Scale: 1}})
}
