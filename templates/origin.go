package templates

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/rotator-pam/rotator/internal/weburl"
)

// Origin returns the web origin of an absolute http or https URL, as a
// browser serialises it: "https://example.com", "http://127.0.0.1:8080"
// (lower-case scheme and host, no default port, no path).
func Origin(rawURL string) (string, error) {
	u, err := weburl.Parse(rawURL)
	if err != nil {
		return "", err
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	port := u.Port()
	if port == "80" && scheme == "http" || port == "443" && scheme == "https" {
		port = ""
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// parseOrigin checks one entry of a template's origins list: an http or
// https origin, with no path, query, fragment or user name.
func parseOrigin(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("origin %q is not a URL", s)
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("origin %q: want scheme://host[:port] only, like https://login.example.com (no path, query or user)", s)
	}
	o, err := Origin(s)
	if err != nil {
		return "", fmt.Errorf("origin %q must be an http or https origin like https://login.example.com", s)
	}
	for _, r := range o {
		if r > 0x7e {
			return "", fmt.Errorf("origin %q: write the host in ASCII (punycode, xn--...), as browsers do", s)
		}
	}
	return o, nil
}

// SignsIn reports whether steps really sign in: outside any if branch (at
// the top level, or inside frame steps) they fill a field with exactly
// {{ new_password }} or {{ password }}, then submit (a click or a press),
// then check the result (an expect or a wait_for). A verify flow must: a
// confirmation message alone never shows that the new password works.
func SignsIn(steps []Step) bool {
	const (
		wantFill = iota
		wantSubmit
		wantCheck
		done
	)
	state := wantFill
	var walk func([]Step)
	walk = func(steps []Step) {
		for _, s := range steps {
			switch {
			case s.Kind == StepFrame:
				walk(s.Steps)
			case state == wantFill && s.Kind == StepFill && isPasswordValue(s.Value):
				state = wantSubmit
			case state == wantSubmit && (s.Kind == StepClick || s.Kind == StepPress):
				state = wantCheck
			case state == wantCheck && (s.Kind == StepExpect || s.Kind == StepWaitFor):
				state = done
			}
		}
	}
	walk(steps)
	return state == done
}

// isPasswordValue: the text is one password variable and nothing else.
func isPasswordValue(t Text) bool {
	return len(t.Parts) == 1 && (t.Parts[0].Var == VarPassword || t.Parts[0].Var == VarNewPassword)
}
