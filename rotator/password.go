package rotator

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"

	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/templates"
)

// DefaultLength is the length of generated passwords when the rules allow
// it: long enough to be strong, short enough for every site we know.
const DefaultLength = 20

// defaultSpecials are the specials used when a template has no rules: the
// ones sites accept most widely.
const defaultSpecials = "-!#%*+.=?@^_"

// DefaultRules are used for templates without password_rules: 20 characters
// from all four classes.
func DefaultRules() templates.PasswordRules {
	r, err := templates.ParsePasswordRules("minlength: 20; maxlength: 20; required: upper; required: lower; required: digit; required: [" + defaultSpecials + "];")
	if err != nil {
		panic(err) // a constant that parses
	}
	return r
}

// GeneratePassword returns a random password that satisfies rules, drawn
// from rnd (crypto/rand.Reader when nil). Length: DefaultLength, raised to
// minlength and lowered to maxlength. Space is never used unless a rule
// requires it, and then never first or last; other characters outside
// printable ASCII are never used.
func GeneratePassword(rules templates.PasswordRules, rnd io.Reader) (secret.String, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	if rules.Source == "" {
		rules = DefaultRules()
	}
	n := DefaultLength
	if rules.MinLength > n {
		n = rules.MinLength
	}
	if rules.MaxLength > 0 && n > rules.MaxLength {
		n = rules.MaxLength
	}
	if n < len(rules.Required) {
		return secret.String{}, fmt.Errorf("password rules need %d classes in %d characters", len(rules.Required), n)
	}
	pool := usable(rules.Allowed)
	if len(pool) == 0 {
		return secret.String{}, errors.New("password rules allow no printable ASCII character")
	}
	for attempt := 0; attempt < 1000; attempt++ {
		pw := make([]rune, 0, n)
		for _, req := range rules.Required {
			set := usable(req)
			if len(set) == 0 {
				set = spaceOnly(req)
			}
			if len(set) == 0 {
				return secret.String{}, fmt.Errorf("required class %s has no usable character", req.Source)
			}
			c, err := pick(rnd, set)
			if err != nil {
				return secret.String{}, err
			}
			pw = append(pw, c)
		}
		for len(pw) < n {
			c, err := pick(rnd, pool)
			if err != nil {
				return secret.String{}, err
			}
			pw = append(pw, c)
		}
		if err := shuffle(rnd, pw); err != nil {
			return secret.String{}, err
		}
		s := string(pw)
		if pw[0] == ' ' || pw[len(pw)-1] == ' ' {
			continue
		}
		if rules.Check(s) == nil {
			return secret.New(s), nil
		}
	}
	return secret.String{}, errors.New("no password satisfying the rules after 1000 tries")
}

// usable is the class's printable ASCII characters without space.
func usable(c templates.CharClass) []rune {
	var out []rune
	for r := rune(0x21); r <= 0x7e; r++ {
		if c.Unicode || slices.Contains(c.Chars, r) {
			out = append(out, r)
		}
	}
	return out
}

func spaceOnly(c templates.CharClass) []rune {
	if c.Unicode || slices.Contains(c.Chars, ' ') {
		return []rune{' '}
	}
	return nil
}

func pick(rnd io.Reader, set []rune) (rune, error) {
	i, err := rand.Int(rnd, big.NewInt(int64(len(set))))
	if err != nil {
		return 0, fmt.Errorf("random: %w", err)
	}
	return set[i.Int64()], nil
}

func shuffle(rnd io.Reader, rs []rune) error {
	for i := len(rs) - 1; i > 0; i-- {
		j, err := rand.Int(rnd, big.NewInt(int64(i+1)))
		if err != nil {
			return fmt.Errorf("random: %w", err)
		}
		rs[i], rs[j.Int64()] = rs[j.Int64()], rs[i]
	}
	return nil
}
