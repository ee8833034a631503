package main

import (
	"context"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/config"
	"github.com/rotator-pam/rotator/demo"
	"github.com/rotator-pam/rotator/internal/pgtest"
	"github.com/rotator-pam/rotator/store"
)

// The demo's vault (its four accounts on its live site, the CAPTCHA one
// flagged for an operator, as the demo leaves it) moves to PostgreSQL with
// `rotator migrate --to`, and `rotator verify --all` then signs every
// other account in from the copy, in Chromium. The database's password
// goes by PGPASSWORD, never the command line, which refuses it; the file is
// marked moved and opens only after `migrate --reopen`; a second migrate
// into the same database is refused.
func TestMigrateDemoVaultToPostgres(t *testing.T) {
	t.Parallel()
	if _, err := browser.FindChromium(""); err != nil && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	ctx := context.Background()
	data := filepath.Join(t.TempDir(), "data")
	cfg := config.Default()
	demo.Configure(&cfg, data, "127.0.0.1:0", false)
	env, err := demo.Setup(ctx, cfg, "test", time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if err := env.Store.Flag(ctx, "dora", store.StateNeedsOperator, "captcha challenge (demo-captcha)"); err != nil {
		t.Fatal(err)
	}
	dbURL := pgtest.URL(t)
	u, _ := url.Parse(dbURL)
	pass, _ := u.User.Password()
	u.User = url.User(u.User.Username())
	cli := func(extra []string, args ...string) (string, int) {
		out, code := runRotatorEnv(t, data, extra, "", args...)
		if strings.Contains(out, pass) {
			t.Errorf("rotator %s printed the database password", strings.Join(args, " "))
		}
		return out, code
	}
	// A made-up password: a real one in a child's argv is every user's.
	if out, code := cli(nil, "migrate", "--to", "postgres://rotator:made-up@127.0.0.1:1/x"); code != 2 || !strings.Contains(out, "PGPASSWORD") {
		t.Errorf("a password in --to: exit %d\n%s", code, out)
	}
	pgpass := []string{"PGPASSWORD=" + pass}
	out, code := cli(pgpass, "migrate", "--to", u.String())
	if code != 0 || !regexp.MustCompile(`accounts +4`).MatchString(out) {
		t.Fatalf("migrate: exit %d\n%s", code, out)
	}
	onPG := []string{"ROTATOR_STORE=" + dbURL}
	out, code = cli(onPG, "verify", "--all")
	if code != 0 || !strings.Contains(out, "dora") || !strings.Contains(out, "skipped (needs an operator)") {
		t.Fatalf("verify --all on the copy: exit %d\n%s", code, out)
	}
	if out, code := cli(onPG, "audit", "verify"); code != 0 {
		t.Errorf("audit verify on the copy: exit %d\n%s", code, out)
	}
	// The file is marked moved: nothing opens it, a second migrate
	// included, until it is reopened on purpose.
	if out, code := cli(nil, "account", "list"); code == 0 || !strings.Contains(out, "was copied to") || !strings.Contains(out, "migrate --reopen") {
		t.Errorf("the moved file opens: exit %d\n%s", code, out)
	}
	if out, code := cli(pgpass, "migrate", "--to", u.String()); code == 0 || !strings.Contains(out, "was copied to") {
		t.Errorf("a second migrate of the moved file: exit %d\n%s", code, out)
	}
	if out, code := cli(nil, "migrate", "--reopen"); code != 0 || !strings.Contains(out, "opens again") {
		t.Fatalf("migrate --reopen: exit %d\n%s", code, out)
	}
	if out, code := cli(pgpass, "migrate", "--to", u.String()); code == 0 || !strings.Contains(out, "holds a vault") {
		t.Errorf("a second migrate: exit %d\n%s", code, out)
	}
}
