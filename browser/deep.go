package browser

// deepJS defines the page-side helpers that look into open shadow roots,
// where querySelectorAll and innerText do not (a closed root, which the
// page keeps from outside code, stays closed). The scripts that need them
// start with it:
//
//   - deepAll(root, sel): the elements sel matches in root (a document, an
//     element or a shadow root) and in the open shadow roots under it,
//     nested ones too; a root's elements come right after its host.
//   - hostSel(h, unique): a selector for h, a shadow host or a frame
//     element, that finds it alone in its scope (unique says whether a
//     selector does), or "": a part before ">>>" in a chain.
const deepJS = `
const deepAll = (root, sel) => {
	const hits = Array.from(root.querySelectorAll(sel));
	const hosts = Array.from(root.querySelectorAll("*")).filter(e => e.shadowRoot);
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
const hostSel = (h, unique) => {
	const tag = h.localName, ident = s => /^[A-Za-z][A-Za-z0-9_-]*$/.test(s);
	if (h.id && ident(h.id) && unique("#" + h.id)) return (tag === "iframe" || tag === "frame" ? tag : "") + "#" + h.id;
	if (/^[a-z][a-z0-9-]*$/.test(tag) && unique(tag)) return tag;
	const name = h.getAttribute("name");
	if (name && ident(name) && unique(tag + '[name="' + name + '"]')) return tag + '[name="' + name + '"]';
	return "";
};
`
