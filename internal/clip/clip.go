// Package clip shortens text for messages people read: an error that
// quotes a page's text, a selector, a description in a table.
package clip

import "unicode/utf8"

// String returns s if it is at most n bytes long, else its longest prefix
// of whole characters that, with "..." after it, is at most n bytes.
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := max(n-3, 0)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
