package browser

import (
	"bytes"
	"os"
	"testing"

	"github.com/go-rod/rod"
)

// A screenshot draws what fields hold as dots: two pages that differ only
// in the text of a field (a TOTP code, a password shown as text) give the
// same picture, and the page's own field styles are put back afterwards.
func TestScreenshotsMaskFields(t *testing.T) {
	t.Parallel()
	page := newPage(t).Context(ctxFor(t))
	r := &Runner{ArtifactDir: t.TempDir()}
	shot := func(value, name string) []byte {
		t.Helper()
		page.MustSetDocumentContent(`<!doctype html><style>input{font:20px monospace}</style>
<input id="code" type="text" value="` + value + `"> <textarea>` + value + `</textarea>`)
		return savedShot(t, r, page, name)
	}
	a, b := shot("Secret-123456", "a.png"), shot("Other!-987654", "b.png")
	if !bytes.Equal(a, b) {
		t.Error("the screenshots differ with the fields' text: a secret in a text field shows")
	}
	if got := page.MustEval(`() => document.getElementById("code").style.getPropertyValue("-webkit-text-security")`).Str(); got != "" {
		t.Errorf("the field keeps the mask after the screenshot: %q", got)
	}
}

// savedShot saves a screenshot of page through r, as a failure does, and
// reads it back.
func savedShot(t *testing.T, r *Runner, page *rod.Page, name string) []byte {
	t.Helper()
	p := r.save(page, name, nil)
	if p == "" {
		t.Fatal("no screenshot saved")
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return data
}
