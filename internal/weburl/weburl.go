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
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return nil, fmt.Errorf("%q is not an absolute http or https URL", raw)
	}
	if u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	return u, nil
}

// Is reports whether raw passes Parse.
func Is(raw string) bool {
	_, err := Parse(raw)
	return err == nil
}
