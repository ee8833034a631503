package templates

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/rotator-pam/rotator/internal/clip"
)

// Character classes of the Password Rules language, as Apple's
// password-manager-resources defines them.
const (
	upperChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerChars = "abcdefghijklmnopqrstuvwxyz"
	digitChars = "0123456789"
	// specialChars is ASCII printable minus letters and digits: space and
	// -~!@#$%^&*_+=`|(){}[:;"'<>,.?] as Apple lists them.
	specialChars = " -~!@#$%^&*_+=`|(){}[:;\"'<>,.?]\\/"
)

// CharClass is a set of characters: named classes and custom [...] sets
// resolved to their members. Unicode means any character.
type CharClass struct {
	Chars   []rune // sorted, unique; empty when Unicode
	Unicode bool
	// Source is how the class was written, for messages.
	Source string
}

func (c CharClass) has(r rune) bool {
	if c.Unicode {
		return true
	}
	_, ok := slices.BinarySearch(c.Chars, r)
	return ok
}

// PasswordRules are the parsed rules of a template. The zero value has no
// rules (see DefaultPasswordRules for what generation uses then).
type PasswordRules struct {
	MinLength      int // 0: none
	MaxLength      int // 0: none
	MaxConsecutive int // 0: none
	// Required holds one entry per "required:" rule: at least one character
	// of that union must appear.
	Required []CharClass
	// Allowed is every character a password may use: the union of
	// "allowed:" and "required:" classes, or ASCII printable when neither
	// restricts it.
	Allowed CharClass
	// Source is the rules text as written.
	Source string
}

func runeSet(s string) []rune {
	rs := []rune(s)
	slices.Sort(rs)
	return slices.Compact(rs)
}

func asciiPrintable() []rune {
	out := make([]rune, 0, 95)
	for r := rune(0x20); r <= 0x7e; r++ {
		out = append(out, r)
	}
	return out
}

// ParsePasswordRules parses text in the Password Rules language, for
// example "minlength: 12; required: lower; required: upper; required:
// digit; allowed: [-_!@#];", and checks that some password satisfies it.
func ParsePasswordRules(text string) (PasswordRules, error) {
	pr := PasswordRules{Source: strings.TrimSpace(text)}
	var allowed []CharClass
	seenLen := map[string]bool{}
	for i, raw := range splitRules(text) {
		rule := strings.TrimSpace(raw)
		if rule == "" {
			continue
		}
		name, value, ok := strings.Cut(rule, ":")
		if !ok {
			return PasswordRules{}, fmt.Errorf("password rule %d %q: want name: value", i+1, rule)
		}
		name = strings.ToLower(strings.TrimSpace(name))
		value = strings.TrimSpace(value)
		switch name {
		case "minlength", "maxlength", "max-consecutive":
			n, err := strconv.Atoi(value)
			if err != nil || n < 0 {
				return PasswordRules{}, fmt.Errorf("password rule %s: %q is not a whole number", name, value)
			}
			if seenLen[name] {
				return PasswordRules{}, fmt.Errorf("password rule %s given twice", name)
			}
			seenLen[name] = true
			switch name {
			case "minlength":
				pr.MinLength = n
			case "maxlength":
				if n == 0 {
					return PasswordRules{}, errors.New("password rule maxlength: 0 allows no password")
				}
				pr.MaxLength = n
			default:
				if n == 0 {
					return PasswordRules{}, errors.New("password rule max-consecutive: 0 allows no password")
				}
				pr.MaxConsecutive = n
			}
		case "required", "allowed":
			classes, err := parseClassList(value)
			if err != nil {
				return PasswordRules{}, fmt.Errorf("password rule %s: %w", name, err)
			}
			u := union(classes)
			if name == "required" {
				pr.Required = append(pr.Required, u)
			}
			allowed = append(allowed, u)
		default:
			return PasswordRules{}, fmt.Errorf("unknown password rule %q (want minlength, maxlength, max-consecutive, required or allowed)", name)
		}
	}
	if len(allowed) == 0 {
		pr.Allowed = CharClass{Chars: asciiPrintable(), Source: "ascii-printable"}
	} else {
		pr.Allowed = union(allowed)
	}
	if err := pr.satisfiable(); err != nil {
		return PasswordRules{}, err
	}
	return pr, nil
}

// splitRules splits on ';' outside custom character classes, which may
// hold ';' themselves.
func splitRules(text string) []string {
	var out []string
	start, inClass := 0, false
	for i := 0; i < len(text); i++ {
		switch c := text[i]; {
		case inClass && c == ']':
			if i+1 < len(text) && text[i+1] == ']' {
				i++
			}
			inClass = false
		case !inClass && c == '[':
			inClass = true
		case !inClass && c == ';':
			out = append(out, text[start:i])
			start = i + 1
		}
	}
	return append(out, text[start:])
}

func union(cs []CharClass) CharClass {
	var out CharClass
	var srcs []string
	for _, c := range cs {
		srcs = append(srcs, c.Source)
		if c.Unicode {
			out.Unicode = true
		}
		out.Chars = append(out.Chars, c.Chars...)
	}
	if out.Unicode {
		out.Chars = nil
	} else {
		slices.Sort(out.Chars)
		out.Chars = slices.Compact(out.Chars)
	}
	out.Source = strings.Join(srcs, ", ")
	return out
}

// parseClassList parses "lower, upper, [-!@]".
func parseClassList(s string) ([]CharClass, error) {
	var out []CharClass
	rest := strings.TrimSpace(s)
	if rest == "" {
		return nil, errors.New("no character class")
	}
	for rest != "" {
		var c CharClass
		if rest[0] == '[' {
			var err error
			c, rest, err = parseCustomClass(rest)
			if err != nil {
				return nil, err
			}
		} else {
			end := strings.IndexByte(rest, ',')
			if end < 0 {
				end = len(rest)
			}
			name := strings.ToLower(strings.TrimSpace(rest[:end]))
			rest = rest[end:]
			switch name {
			case "upper":
				c = CharClass{Chars: runeSet(upperChars)}
			case "lower":
				c = CharClass{Chars: runeSet(lowerChars)}
			case "digit":
				c = CharClass{Chars: runeSet(digitChars)}
			case "special":
				c = CharClass{Chars: runeSet(specialChars)}
			case "ascii-printable":
				c = CharClass{Chars: asciiPrintable()}
			case "unicode":
				c = CharClass{Unicode: true}
			default:
				return nil, fmt.Errorf("unknown character class %q (want upper, lower, digit, special, ascii-printable, unicode or [...])", name)
			}
			c.Source = name
		}
		out = append(out, c)
		rest = strings.TrimSpace(rest)
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("want ',' between character classes at %q", rest)
		}
		rest = strings.TrimSpace(rest[1:])
		if rest == "" {
			return nil, errors.New("trailing ','")
		}
	}
	return out, nil
}

// parseCustomClass parses "[...]" at the start of s. As in Apple's parser,
// '-' may only come first and ']' is written as "]]" at the end.
func parseCustomClass(s string) (CharClass, string, error) {
	var chars []rune
	i := 1
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == ']' {
			if i+1 < len(s) && s[i+1] == ']' {
				chars = append(chars, ']')
				i += 2
				break
			}
			i++
			break
		}
		if r < 0x20 || r > 0x7e {
			// Apple's parser ignores characters outside ASCII printable;
			// so do we: a generated password simply never uses them.
			i += size
			if i >= len(s) {
				return CharClass{}, "", fmt.Errorf("custom character class %s has no closing ']'", clip.String(s, 27))
			}
			continue
		}
		if r == '-' && i > 1 {
			return CharClass{}, "", fmt.Errorf("custom character class %s: '-' may only come first", clip.String(s, 27))
		}
		chars = append(chars, r)
		i += size
		if i >= len(s) {
			return CharClass{}, "", fmt.Errorf("custom character class %s has no closing ']'", clip.String(s, 27))
		}
	}
	if len(chars) == 0 {
		return CharClass{}, "", fmt.Errorf("custom character class %s has no ASCII printable character", clip.String(s[:i], 27))
	}
	src := s[:i]
	slices.Sort(chars)
	return CharClass{Chars: slices.Compact(chars), Source: src}, s[i:], nil
}

// satisfiable reports rules that no password can meet.
func (pr PasswordRules) satisfiable() error {
	if pr.MaxLength > 0 && pr.MinLength > pr.MaxLength {
		return fmt.Errorf("password rules cannot be met: minlength %d is more than maxlength %d", pr.MinLength, pr.MaxLength)
	}
	if pr.MaxLength > 0 && len(pr.Required) > pr.MaxLength {
		return fmt.Errorf("password rules cannot be met: %d required classes do not fit in maxlength %d", len(pr.Required), pr.MaxLength)
	}
	if !pr.Allowed.Unicode && len(pr.Allowed.Chars) == 1 && pr.MaxConsecutive > 0 && pr.MinLength > pr.MaxConsecutive {
		return fmt.Errorf("password rules cannot be met: only %q is allowed, at most %d in a row, but minlength is %d", pr.Allowed.Chars[0], pr.MaxConsecutive, pr.MinLength)
	}
	return nil
}

// Check reports the first rule a password breaks, without quoting it.
func (pr PasswordRules) Check(pw string) error {
	n := utf8.RuneCountInString(pw)
	if pr.MinLength > 0 && n < pr.MinLength {
		return fmt.Errorf("shorter than minlength %d", pr.MinLength)
	}
	if pr.MaxLength > 0 && n > pr.MaxLength {
		return fmt.Errorf("longer than maxlength %d", pr.MaxLength)
	}
	for i, r := range []rune(pw) {
		if !pr.Allowed.has(r) {
			return fmt.Errorf("character %d is not allowed (allowed: %s)", i+1, pr.Allowed.Source)
		}
	}
	for _, req := range pr.Required {
		if !strings.ContainsFunc(pw, req.has) {
			return fmt.Errorf("no character from required %s", req.Source)
		}
	}
	if pr.MaxConsecutive > 0 {
		run, prev := 0, rune(-1)
		for _, r := range pw {
			if r == prev {
				run++
			} else {
				run, prev = 1, r
			}
			if run > pr.MaxConsecutive {
				return fmt.Errorf("more than %d identical characters in a row", pr.MaxConsecutive)
			}
		}
	}
	return nil
}
