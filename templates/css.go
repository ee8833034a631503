package templates

import (
	"fmt"
	"strings"

	"github.com/andybalholm/cascadia"
	"github.com/antchfx/xpath"
)

// A selector is checked at load time by real parsers: CSS by cascadia (the
// parser of goquery), XPath by antchfx/xpath. Cascadia and Chromium do not
// agree on every pseudo-class, and the browser has the last word, so
// checkCSS bridges the two: a pseudo-class Chromium knows and cascadia
// does not is checked for its place and its arguments, and one only
// cascadia knows is refused, as the browser would refuse it.

// browserPseudo are pseudo-classes Chromium supports that cascadia does not
// parse. Those whose argument is a selector list are in selectorArgs.
var browserPseudo = map[string]bool{
	"is": true, "where": true, "has": true, "focus-visible": true, "focus-within": true, "scope": true,
	"placeholder-shown": true, "required": true, "optional": true, "invalid": true, "valid": true,
	"in-range": true, "out-of-range": true, "read-only": true, "read-write": true, "default": true,
	"indeterminate": true, "defined": true, "dir": true, "host": true, "host-context": true, "modal": true,
	"autofill": true, "-webkit-autofill": true, "user-invalid": true, "user-valid": true, "any-link": true,
	"fullscreen": true, "popover-open": true, "picture-in-picture": true, "state": true,
}

// selectorArgs are the pseudo-classes above whose argument is a selector
// list; :has takes relative selectors ("> a").
var selectorArgs = map[string]bool{"is": true, "where": true, "has": true, "host": true, "host-context": true}

// cascadiaOnly are pseudo-classes cascadia accepts and browsers reject.
var cascadiaOnly = map[string]bool{
	"contains": true, "containsown": true, "haschild": true, "matches": true, "matchesown": true, "input": true,
}

// checkCSS parses a CSS selector list as Chromium would: a selector the
// browser would reject fails at load time, not at run time.
func checkCSS(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty CSS selector")
	}
	bridged, err := bridgePseudo(s)
	if err != nil {
		return err
	}
	if _, err := cascadia.ParseGroupWithPseudoElements(bridged); err != nil {
		return fmt.Errorf("not a CSS selector: %v", err)
	}
	return nil
}

// bridgePseudo replaces each pseudo-class of browserPseudo with :empty,
// which cascadia parses wherever a pseudo-class may stand, after checking
// the selector lists it takes; it refuses those of cascadiaOnly.
func bridgePseudo(s string) (string, error) {
	var b strings.Builder
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == '\\' && i+1 < len(s) {
				b.WriteByte(c)
				i++
				c = s[i]
			} else if c == quote {
				quote = 0
			}
		case c == '\\' && i+1 < len(s):
			b.WriteByte(c)
			i++
			c = s[i]
		case c == '"' || c == '\'':
			quote = c
		case c == ':' && (i+1 >= len(s) || s[i+1] != ':') && (i == 0 || s[i-1] != ':'):
			name, end := pseudoName(s, i+1)
			lower := strings.ToLower(name)
			if cascadiaOnly[lower] {
				return "", fmt.Errorf("not a CSS selector: :%s is jQuery's, which browsers reject (rotator reads one :contains() at the end of a selector, as its text)", name)
			}
			if !browserPseudo[lower] {
				break
			}
			if end < len(s) && s[end] == '(' {
				close := matchParen(s, end)
				if close < 0 {
					return "", fmt.Errorf("not a CSS selector: :%s( is not closed", name)
				}
				if selectorArgs[lower] {
					if err := checkSelectorArg(lower, s[end+1:close]); err != nil {
						return "", err
					}
				}
				end = close + 1
			}
			b.WriteString(":empty")
			i = end - 1
			continue
		}
		b.WriteByte(c)
	}
	return b.String(), nil
}

// checkSelectorArg checks the selector list of :is(), :where(), :has()
// and :host(); :has's may begin with a combinator.
func checkSelectorArg(name, arg string) error {
	if strings.TrimSpace(arg) == "" {
		return fmt.Errorf("not a CSS selector: :%s() is empty", name)
	}
	for _, part := range splitTopLevel(arg) {
		p := strings.TrimSpace(part)
		if name == "has" {
			p = strings.TrimSpace(strings.TrimLeft(p, ">+~"))
		}
		if err := checkCSS(p); err != nil {
			return fmt.Errorf("in :%s(): %w", name, err)
		}
	}
	return nil
}

// pseudoName reads an identifier (letters, digits, '-', '_') from i.
func pseudoName(s string, i int) (string, int) {
	j := i
	for j < len(s) && (s[j] == '-' || s[j] == '_' || s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
		j++
	}
	return s[i:j], j
}

// walkSyntax calls visit with each byte of s from start that is outside
// quotes and not escaped, and the depth of parentheses and brackets around
// it (a closing one is at the depth it closes to), until visit returns
// false.
func walkSyntax(s string, start int, visit func(i int, c byte, depth int) bool) {
	depth := 0
	var quote byte
	for i := start; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\':
			i++
			continue
		case quote != 0:
			if c == quote {
				quote = 0
			}
			continue
		case c == '"' || c == '\'':
			quote = c
			continue
		case c == '(' || c == '[':
			depth++
		case c == ')' || c == ']':
			depth--
		}
		if !visit(i, c, depth) {
			return
		}
	}
}

// matchParen is the index of the ')' that closes the '(' at open, outside
// quotes, or -1.
func matchParen(s string, open int) int {
	end := -1
	walkSyntax(s, open, func(i int, c byte, depth int) bool {
		if c == ')' && depth == 0 {
			end = i
			return false
		}
		return true
	})
	return end
}

// splitTopLevel splits a selector list at the commas outside parentheses,
// brackets and quotes.
func splitTopLevel(s string) []string {
	var parts []string
	start := 0
	walkSyntax(s, 0, func(i int, c byte, depth int) bool {
		if c == ',' && depth == 0 {
			parts = append(parts, s[start:i])
			start = i + 1
		}
		return true
	})
	return append(parts, s[start:])
}

// checkXPath compiles an XPath expression with antchfx/xpath.
func checkXPath(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty XPath")
	}
	if _, err := xpath.Compile(s); err != nil {
		return fmt.Errorf("not an XPath expression: %v", err)
	}
	// antchfx/xpath stops at a stray closing bracket ("//a[1]]") where
	// Chromium refuses the expression.
	return closedXPath(s)
}

// closedXPath refuses a bracket or parenthesis closed out of turn, outside
// string literals.
func closedXPath(s string) error {
	var open []byte
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '[' || c == '(':
			open = append(open, c)
		case c == ']' || c == ')':
			want := byte('[')
			if c == ')' {
				want = '('
			}
			if len(open) == 0 || open[len(open)-1] != want {
				return fmt.Errorf("not an XPath expression: %q at offset %d closes nothing", c, i)
			}
			open = open[:len(open)-1]
		}
	}
	return nil
}

// A chain, "host >>> inner", reaches into what CSS cannot: the open shadow
// root of an element matching host, or the document of a same-origin
// frame. No CSS selector holds ">>>" outside quotes, brackets and
// parentheses (browsers dropped the deep combinator it once was), so a
// chain cannot be read as CSS by mistake. Each part is CSS, checked as the
// browser would; the last may also find by text (text=, :contains()).

// chainCombinator separates the parts of a chain.
const chainCombinator = ">>>"

// xpathLike reports whether a selector is read as XPath.
func xpathLike(s string) bool {
	return strings.HasPrefix(s, "xpath=") || strings.HasPrefix(s, "/") || strings.HasPrefix(s, "(")
}

// splitChain splits s at each ">>>" outside quotes, brackets and
// parentheses; a selector that is not a chain gives one part.
func splitChain(s string) []string {
	var parts []string
	start := 0
	walkSyntax(s, 0, func(i int, c byte, depth int) bool {
		if i >= start && depth == 0 && strings.HasPrefix(s[i:], chainCombinator) {
			parts = append(parts, s[start:i])
			start = i + len(chainCombinator)
		}
		return true
	})
	return append(parts, s[start:])
}

// parseChain reads the parts of a chain: every part but the last is one
// CSS selector (a host or a frame), the last one CSS or a text selector.
// A selector list (a, b) is refused in any part: whether the comma splits
// the chain or the part would be a guess, and a step's alternatives say
// the same without one.
func parseChain(raw string, parts []string) (Alternative, error) {
	a := Alternative{Raw: raw}
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
		if parts[i] == "" {
			return a, fmt.Errorf("selector %q: part %d of the >>> chain is empty", raw, i+1)
		}
		if len(splitTopLevel(parts[i])) > 1 {
			return a, fmt.Errorf("selector %q: %q is a selector list, which a >>> chain cannot hold: give each chain as its own alternative", raw, parts[i])
		}
	}
	hosts, last := parts[:len(parts)-1], parts[len(parts)-1]
	for _, h := range hosts {
		if err := checkCSS(h); err != nil {
			return a, fmt.Errorf("selector %q, before >>>: %w", raw, err)
		}
	}
	if xpathLike(last) {
		return a, fmt.Errorf("selector %q: XPath cannot follow >>> (it does not reach into shadow roots); use CSS", raw)
	}
	inner, err := ParseAlternative(last)
	if err != nil {
		return a, fmt.Errorf("selector %q, after >>>: %w", raw, err)
	}
	a.Kind, a.CSS, a.Text, a.Within = inner.Kind, inner.CSS, inner.Text, hosts
	return a, nil
}
