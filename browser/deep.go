package browser

import (
	"github.com/go-rod/rod"
)

// deepJS defines the page-side helpers that look into open shadow roots,
// where querySelectorAll and innerText do not (a closed root, which the
// page keeps from outside code, stays closed). The scripts that need them
// start with it:
//
//   - deepAll(root, sel): the elements sel matches in root (a document, an
//     element or a shadow root) and in the open shadow roots under it (a
//     host's own too), nested ones as well; a root's elements come right
//     after its host.
//   - deepText(root): the visible text of root, as innerText reads it, then
//     that of each open shadow root under it (a host's own too), a line
//     apart.
//   - hostSel(h, unique): a selector for h, a shadow host or a frame
//     element, that finds it alone in its scope (unique says whether a
//     selector does), or "": a part before ">>>" in a chain.
const deepJS = `
const deepAll = (root, sel) => {
	const hits = Array.from(root.querySelectorAll(sel));
	const hosts = Array.from(root.querySelectorAll("*")).filter(e => e.shadowRoot);
	if (root.shadowRoot) hosts.unshift(root);
	if (hosts.length === 0) return hits;
	const out = [];
	let i = 0;
	// The roots of the hosts before e (all when e is null).
	const roots = e => {
		for (; i < hosts.length && hosts[i] !== e && (!e || hosts[i].compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING); i++) {
			out.push(...deepAll(hosts[i].shadowRoot, sel));
		}
	};
	for (const e of hits) { roots(e); out.push(e); }
	roots(null);
	return out;
};
const deepText = root => {
	// A shadow root has no innerText: its shown children's, and its own
	// words when its host is shown.
	const shown = e => e.checkVisibility({visibilityProperty: true});
	const own = r => r.nodeType === Node.ELEMENT_NODE ? r.innerText :
		r.nodeType === Node.DOCUMENT_NODE ? (r.body ? r.body.innerText : "") :
		Array.from(r.childNodes, n => n.nodeType === Node.ELEMENT_NODE ? (shown(n) ? n.innerText : "") :
			n.nodeType === Node.TEXT_NODE && shown(r.host) ? n.data : "").join(" ");
	const parts = [own(root)];
	for (const h of [root, ...deepAll(root, "*")]) {
		const t = h.shadowRoot ? own(h.shadowRoot) : "";
		if (t.trim()) parts.push(t);
	}
	return parts.join("\n");
};
const hostSel = (h, unique) => {
	const tag = h.localName, ident = s => /^[A-Za-z][A-Za-z0-9_-]*$/.test(s);
	if (h.id && ident(h.id) && unique("#" + h.id)) return (tag === "iframe" || tag === "frame" ? tag : "") + "#" + h.id;
	if (/^[a-z][a-z0-9-]*$/.test(tag) && unique(tag)) return tag;
	const name = h.getAttribute("name");
	if (name && ident(name) && unique(tag + '[name="' + name + '"]')) return tag + '[name="' + name + '"]';
	return "";
};
`

// visibleTextJS is the visible text of the page: its body's and that of
// the open shadow roots in it, then the same of each shown frame of the
// same origin (by the frame's location, which its scripts cannot fake,
// where a window's origin can be overwritten; a frame of another origin
// whose document the page's scripts reach through document.domain is not
// read). Nested frames are read four deep at most.
const visibleTextJS = `() => {` + deepJS + `
	const text = (doc, depth) => {
		const parts = [deepText(doc)];
		for (const f of depth < 4 ? deepAll(doc, "iframe, frame") : []) {
			let d = null;
			try { d = f.contentDocument; } catch (_) {}
			if (d && d.location.origin !== "null" && d.location.origin === location.origin && f.checkVisibility()) parts.push(text(d, depth + 1));
		}
		return parts.join("\n");
	};
	return text(document, 0);
}`

// visibleText is the text a person sees on page, open shadow roots and
// same-origin frames included (visibleTextJS): what a text condition
// looks in.
func visibleText(page *rod.Page) (string, error) {
	res, err := page.Eval(visibleTextJS)
	if err != nil {
		return "", err
	}
	return res.Value.Str(), nil
}
