package importer

import (
	"regexp"
	"strings"
)

// senhasegura's templates are jQuery-flavoured text; these read the few
// shapes they use, each with one pattern.

// placeholderRE is a senhasegura placeholder, [#NAME#], NAME being letters,
// digits and '_' (group 1).
var placeholderRE = regexp.MustCompile(`\[#(\w+)#\]`)

// replacePlaceholders replaces each [#NAME#] with f(NAME). A [# ... #] whose
// inside is not such a name ("[#bad name#]") is left as it is.
func replacePlaceholders(s string, f func(name string) string) string {
	return placeholderRE.ReplaceAllStringFunc(s, func(m string) string {
		return f(placeholderRE.FindStringSubmatch(m)[1])
	})
}

// hasPlaceholder reports whether s holds a [#NAME#].
func hasPlaceholder(s string) bool { return placeholderRE.MatchString(s) }

// jqueryPseudoRE is a jQuery-only pseudo-class, which has no CSS
// equivalent: the name (group "pseudo"), then its arguments up to the first
// ')' (group "args"), or else the end of the selector or a character that
// cannot continue the name. So ":first-child" and ":lastly" are CSS (or
// nothing jQuery knows) and do not match; ":eq(" with no ')' matches as
// ":eq" alone.
var jqueryPseudoRE = regexp.MustCompile(`(?P<pseudo>:(?:eq|gt|lt|first|last|even|odd|visible|hidden))(?:(?P<args>\([^)]*\))|$|[^a-z-])`)

// cutJQueryPseudo removes the first jQuery-only pseudo-class (":eq(1)",
// ":visible") from sel; it leaves CSS ones (":first-child") alone.
func cutJQueryPseudo(sel string) (rest, cut string) {
	m := jqueryPseudoRE.FindStringSubmatchIndex(sel)
	if m == nil {
		return sel, ""
	}
	start, end := m[2], m[3] // the pseudo-class's name
	if m[4] >= 0 {
		end = m[5] // and its arguments
	}
	return sel[:start] + sel[end:], sel[start:end]
}

// jqCallRE is `$('SEL')` or `$("SEL")` (SEL, up to the first quote that
// closes the call, in group 1 or 2) and what follows (group 3), as
// senhasegura's jscript lines write them.
var jqCallRE = regexp.MustCompile(`(?s)^\$\((?:'(.*?)'|"(.*?)")\)(.*)$`)

// jqCall reads `$('SEL')` followed by an optional call and ';': it returns
// SEL, never empty, and what follows the $(...) without the final ';'.
func jqCall(code string) (sel, call string, ok bool) {
	m := jqCallRE.FindStringSubmatch(strings.TrimSuffix(strings.TrimSpace(code), ";"))
	if m == nil {
		return "", "", false
	}
	sel = m[1] + m[2] // one of them is empty
	if sel == "" {
		return "", "", false
	}
	return sel, m[3], true
}

// jqValRE is a call of .val('V') or .val("V") (V, to the last quote, in
// group 1 or 2).
var jqValRE = regexp.MustCompile(`(?s)^\.val\((?:'(.*)'|"(.*)")\)$`)

// jqVal reads the value of a .val('V') call.
func jqVal(call string) (string, bool) {
	m := jqValRE.FindStringSubmatch(call)
	if m == nil {
		return "", false
	}
	return m[1] + m[2], true
}
