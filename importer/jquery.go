package importer

import "strings"

// senhasegura's templates are jQuery-flavoured text; these read the few
// shapes they use, by hand.

// replacePlaceholders replaces each [#NAME#] (NAME of letters, digits and
// '_') with f(NAME).
func replacePlaceholders(s string, f func(name string) string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "[#")
		if i < 0 {
			break
		}
		j := strings.Index(s[i+2:], "#]")
		if j < 0 {
			break
		}
		name := s[i+2 : i+2+j]
		if !placeholderName(name) {
			b.WriteString(s[:i+2])
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(f(name))
		s = s[i+2+j+2:]
	}
	b.WriteString(s)
	return b.String()
}

func placeholderName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}

// hasPlaceholder reports whether s holds a [#NAME#].
func hasPlaceholder(s string) bool {
	found := false
	replacePlaceholders(s, func(string) string { found = true; return "" })
	return found
}

// jqueryPseudos have no CSS equivalent.
var jqueryPseudos = []string{"eq", "gt", "lt", "first", "last", "even", "odd", "visible", "hidden"}

// cutJQueryPseudo removes the first jQuery-only pseudo-class (":eq(1)",
// ":visible") from sel; it leaves CSS ones (":first-child") alone.
func cutJQueryPseudo(sel string) (rest, cut string) {
	for i := 0; i < len(sel); i++ {
		if sel[i] != ':' {
			continue
		}
		for _, p := range jqueryPseudos {
			end := i + 1 + len(p)
			if !strings.HasPrefix(sel[i+1:], p) {
				continue
			}
			if end < len(sel) && sel[end] == '(' {
				if k := strings.IndexByte(sel[end:], ')'); k >= 0 {
					end += k + 1
				}
			} else if end < len(sel) && (sel[end] == '-' || sel[end] >= 'a' && sel[end] <= 'z') {
				continue // :first-child, :lastly
			}
			return sel[:i] + sel[end:], sel[i:end]
		}
	}
	return sel, ""
}

// jqCall reads `$('SEL')` followed by an optional call and ';', as
// senhasegura's jscript lines write them: it returns SEL and what follows
// the $(...) without the final ';'.
func jqCall(code string) (sel, call string, ok bool) {
	code = strings.TrimSuffix(strings.TrimSpace(code), ";")
	if len(code) < 5 || !strings.HasPrefix(code, "$(") || (code[2] != '\'' && code[2] != '"') {
		return "", "", false
	}
	end := strings.Index(code[3:], string(code[2])+")")
	if end <= 0 {
		return "", "", false
	}
	return code[3 : 3+end], code[3+end+2:], true
}

// quoted reads a string literal in ' or ".
func quoted(s string) (string, bool) {
	if len(s) < 2 || (s[0] != '\'' && s[0] != '"') || s[len(s)-1] != s[0] {
		return "", false
	}
	return s[1 : len(s)-1], true
}
