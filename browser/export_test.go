package browser

// For the tests of package browser_test, which may import what imports
// this package (the importer): the site built of web components, and a
// page of the shared browser.
var (
	NewShadowSite = newShadowSite
	NewTestPage   = newPage
)

// ShadowCode is the one-time code the shadow site asks for.
const ShadowCode = shadowCode

// Current is the site's password now.
func (s *shadowSite) Current() string { return s.current() }
