// Package weburl is the one check of what rotator accepts as a web
// address: an absolute http or https URL with a host. Templates' base URLs,
// accounts' URLs, importers' start pages, the webhook and the origins that
// secrets may go to all pass through it.
package weburl

import (
	"fmt"
	"net/url"
	"strings"
)

// Parse parses raw and accepts it only as an absolute http or https URL
// with a host (the scheme in any case).
func Parse(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%q is not a URL", raw)
	}
	if !httpScheme(u.Scheme) {
		return nil, fmt.Errorf("%q is not an absolute http or https URL", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	return u, nil
}

// CheckScheme refuses every scheme but http and https (in any case): a
// browser is never sent to file:, data:, javascript: and the like. A
// template's goto is checked with it when the template is read, and the
// URL the browser would open when the flow runs.
func CheckScheme(u *url.URL) error {
	if !httpScheme(u.Scheme) {
		return fmt.Errorf("only http and https URLs may be opened, not %s:", strings.ToLower(u.Scheme))
	}
	return nil
}

func httpScheme(s string) bool {
	s = strings.ToLower(s)
	return s == "http" || s == "https"
}

// Is reports whether raw passes Parse.
func Is(raw string) bool {
	_, err := Parse(raw)
	return err == nil
}

// Shown returns raw as it may be shown in a message or a log: scheme, host
// and path, with "?..." where a query or fragment was left out; never the
// user name or password, the query or the fragment, where forms sent by
// GET and tokens put secrets. With hostOnly the path goes too (webhook
// services put their token in it).
func Shown(raw string, hostOnly bool) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a URL that does not parse)"
	}
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Opaque: u.Opaque}
	if hostOnly {
		if u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
			r.Opaque = ""
			return r.String() + "/..."
		}
		return r.String()
	}
	r.Path, r.RawPath = u.Path, u.RawPath
	if u.RawQuery != "" || u.Fragment != "" {
		return r.String() + "?..."
	}
	return r.String()
}
