package templates

import "strings"

// Names are checked by character class, not with regular expressions: the
// rules are short, and nothing is compiled at start-up.

func isLower(r rune) bool { return r >= 'a' && r <= 'z' }
func isDigit(r rune) bool { return r >= '0' && r <= '9' }
func isUpper(r rune) bool { return r >= 'A' && r <= 'Z' }

// spelled reports whether s is not empty, its first rune passes first and
// every other rune passes rest.
func spelled(s string, first, rest func(rune) bool) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		if i == 0 && !first(r) || i > 0 && !rest(r) {
			return false
		}
	}
	return true
}

// validName: a template name, [a-z0-9][a-z0-9._-]*.
func validName(s string) bool {
	return spelled(s, func(r rune) bool { return isLower(r) || isDigit(r) },
		func(r rune) bool { return isLower(r) || isDigit(r) || r == '.' || r == '_' || r == '-' })
}

// validParamName: a parameter name, [a-z_][a-z0-9_]*.
func validParamName(s string) bool {
	return spelled(s, func(r rune) bool { return isLower(r) || r == '_' },
		func(r rune) bool { return isLower(r) || isDigit(r) || r == '_' })
}

// validProperty: a DOM property name, [A-Za-z_$][A-Za-z0-9_$]*.
func validProperty(s string) bool {
	first := func(r rune) bool { return isLower(r) || isUpper(r) || r == '_' || r == '$' }
	return spelled(s, first, func(r rune) bool { return first(r) || isDigit(r) })
}

// validVarName: a variable, NAME or NAME.NAME with parameter-name spelling.
func validVarName(s string) bool {
	head, tail, dotted := strings.Cut(s, ".")
	return validParamName(head) && (!dotted || validParamName(tail))
}

// cutContains splits jQuery's "css:contains(text)" (the last such, as a
// greedy match would).
func cutContains(s string) (css, text string, ok bool) {
	const marker = ":contains("
	i := strings.LastIndex(s, marker)
	if i < 0 || !strings.HasSuffix(s, ")") || i+len(marker) > len(s)-1 {
		return "", "", false
	}
	return s[:i], s[i+len(marker) : len(s)-1], true
}
