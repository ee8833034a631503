package demo

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/config"
)

// TestSetup: a fresh folder gets a vault with the demo's accounts and a
// console token; a folder that holds a vault is refused.
func TestSetup(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.Browser.Bin = "/nonexistent/chromium" // not looked up: the first rotation would say
	Configure(&cfg, filepath.Join(t.TempDir(), "demo"), "127.0.0.1:0", false)
	e, err := Setup(ctx, cfg, "cli:test", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	accts, err := e.Store.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(accts) != len(Accounts()) || e.Token == "" || !strings.HasPrefix(e.SiteURL, "http://127.0.0.1:") {
		t.Errorf("%d accounts, token %t, site %s", len(accts), e.Token != "", e.SiteURL)
	}
	e.Close()
	_, err = Setup(ctx, cfg, "cli:test", time.Now)
	if err == nil || !strings.Contains(err.Error(), "already holds a vault") {
		t.Errorf("a second Setup in the same folder: %v", err)
	}
}
