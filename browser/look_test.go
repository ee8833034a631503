package browser

import (
	"regexp"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/templates"
)

// lookPage has an element of each kind a matcher's selector may find:
// shown, hidden, in an open shadow root, in a same-origin frame, by its
// text; and a heading the built-in trust-prompt detector knows.
const lookPage = `<!doctype html><title>look</title>
<h1>Trust this browser?</h1>
<p id="shown">Hello World</p><p id="hidden" style="display:none">Hidden words</p>
<x-host></x-host>
<iframe id="fr" src="/inner"></iframe>
<script>
customElements.define("x-host", class extends HTMLElement {
	constructor() { super(); this.attachShadow({mode: "open"}).innerHTML = '<span id="inner">in the shadow</span>'; }
});
</script>`

// look, which asks the page everything in one script, says what each
// matcher said on its own (lookEach): for each kind of selector, text and
// URL, in a list where the first match wins, and for the built-in
// detectors.
func TestLookAgreesWithEachMatcher(t *testing.T) {
	t.Parallel()
	srv := site(t, map[string]string{"/look": lookPage, "/inner": `<!doctype html><b id="framed">framed</b>`})
	page := newPage(t)
	ctx := ctxFor(t)
	p := page.Context(ctx)
	if _, err := navigate(ctx, p, srv.URL+"/look"); err != nil {
		t.Fatal(err)
	}
	sel := func(raws ...string) *templates.Matcher { return &templates.Matcher{Selector: selector(t, raws...)} }
	tests := []struct {
		name string
		m    *templates.Matcher
		want bool
	}{
		{"css shown", sel("#shown"), true},
		{"css hidden", sel("#hidden"), false},
		{"css missing", sel("#missing"), false},
		{"second alternative", sel("#missing", "#shown"), true},
		{"first found decides", sel("#hidden", "#shown"), false},
		{"xpath", sel("//p[@id='shown']"), true},
		{"xpath of a text node", sel("//p[@id='shown']/text()"), true},
		{"text", sel("text=Hello"), true},
		{"contains", sel("p:contains(Hidden)"), false},
		{"shadow chain", sel("x-host >>> #inner"), true},
		{"frame chain", sel("iframe#fr >>> #framed"), true},
		{"frame chain missing", sel("iframe#fr >>> #nothing"), false},
		{"text matcher", &templates.Matcher{Text: "hello world"}, true},
		{"hidden text", &templates.Matcher{Text: "hidden words"}, false},
		{"url", &templates.Matcher{URL: "/look"}, true},
		{"url elsewhere", &templates.Matcher{URL: "/other", Selector: selector(t, "#shown")}, false},
		{"url and selector", &templates.Matcher{URL: "/look", Selector: selector(t, "#shown")}, true},
		{"url_re and text", &templates.Matcher{URLRegex: regexp.MustCompile(`/lo+k$`), Text: "World"}, true},
		{"zero", &templates.Matcher{}, false},
	}
	var all []templates.Matcher
	for _, tt := range tests {
		ms := []templates.Matcher{*tt.m}
		all = append(all, *tt.m)
		got, err := look(p, ms, true)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		each, err := lookEach(p, ms, true, pageLook{url: got.url, match: -1})
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if (got.match == 0) != tt.want || got.match != each.match {
			t.Errorf("%s: look says %d, each matcher %d, want a match %v", tt.name, got.match, each.match, tt.want)
		}
		if got.match < 0 && (len(got.builtin) != 2 || got.builtin[0] != "trust-prompt" || len(each.builtin) != 2 || each.builtin[0] != got.builtin[0]) {
			t.Errorf("%s: built-in detectors: look says %v, alone %v", tt.name, got.builtin, each.builtin)
		}
	}
	// The script itself answers (look falls back to lookEach when it
	// fails): a verdict for each selector, the text, the detectors.
	_, sels, _, _ := lookFor([]templates.Matcher{*sel("#shown"), *sel("#hidden"), *sel("iframe#fr >>> #framed")}, "")
	res, err := p.Eval(lookJS, sels, true, true)
	if err != nil {
		t.Fatal(err)
	}
	if v := res.Value; v.Get("sels").JSON("", "") != "[1,0,-1]" || !strings.Contains(v.Get("text").Str(), "in the shadow") || v.Get("builtin").JSON("", "") != `["trust-prompt","trust_browser"]` {
		t.Errorf("lookJS says %s", v.JSON("", ""))
	}
	// In one list, the first that matches wins.
	got, err := look(p, all[1:], false)
	if err != nil || got.match != 2 || got.builtin != nil {
		t.Errorf("the whole list: %+v, %v; want the third (second alternative) and no built-in detector", got, err)
	}
}
