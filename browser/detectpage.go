package browser

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// DetectPage opens a page in a fresh Chromium (o; a new profile, nothing
// signed in) and returns the form fields the detector finds on it, the
// most confident first. The page is target, an http(s) URL; or, when html
// is set, a blank page given html as its document (a saved page: Chromium,
// another user when rotator is root, need not read the file, and file:
// URLs are never opened), target then only naming it in errors. Scripts
// that draw their form get a moment; the whole takes two minutes at most.
func DetectPage(ctx context.Context, o Options, target, html string) ([]DetectedField, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	b, err := Launch(ctx, o)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	page, err := b.NewPage(ctx, PageOptions{})
	if err != nil {
		return nil, err
	}
	url := target
	if html != "" {
		url = "about:blank"
	}
	p := page.Context(ctx)
	if err := p.Navigate(url); err != nil {
		return nil, fmt.Errorf("open %s: %w", target, err)
	}
	if err := p.WaitLoad(); err != nil {
		return nil, fmt.Errorf("load %s: %w", target, err)
	}
	if html != "" {
		if err := p.SetDocumentContent(html); err != nil {
			return nil, fmt.Errorf("load %s: %w", target, err)
		}
	}
	// Pages that draw their form with scripts: a moment for them.
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
	p.Context(wctx).WaitRequestIdle(500*time.Millisecond, nil, nil, nil)()
	wcancel()
	fields, err := DetectFields(ctx, page)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(fields, func(i, j int) bool { return fields[i].Score > fields[j].Score })
	return fields, nil
}
