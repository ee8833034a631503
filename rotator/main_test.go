package rotator

import (
	"os"
	"testing"

	"github.com/rotator-pam/rotator/browser"
)

// testChromium is the browser the package's tests share, as a worker's
// rotations do: each session in a browser context of its own. It starts
// with the first session.
var testChromium = browser.NewChromium(browser.Options{})

func TestMain(m *testing.M) {
	code := m.Run()
	testChromium.Close()
	os.Exit(code)
}
