package main

import (
	"bytes"
	"context"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/internal/pgtest"
)

// rotator on a PostgreSQL vault: --store refuses a URL with a password
// (a command line is every user's to read), ROTATOR_STORE takes one; init
// makes the vault in the database and the data directory keeps only the
// key; the commands work on it; the password shows nowhere.
func TestStoreOnPostgres(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.URL(t)
	u, _ := url.Parse(dbURL)
	pass, _ := u.User.Password()
	dir := t.TempDir()
	cli := func(env map[string]string, stdin string, args ...string) (int, string) {
		var out bytes.Buffer
		a := &app{stdin: strings.NewReader(stdin), stdout: &out, stderr: &out, now: time.Now,
			getenv: func(k string) string { return env[k] }}
		code := run(context.Background(), append([]string{"--data", dir}, args...), a)
		if strings.Contains(out.String(), pass) {
			t.Errorf("rotator %s printed the database password:\n%s", strings.Join(args, " "), out.String())
		}
		return code, out.String()
	}
	if code, out := cli(nil, "", "--store", dbURL, "init"); code != 2 || !strings.Contains(out, "visible to every user") {
		t.Errorf("--store with a password: exit %d\n%s", code, out)
	}
	env := map[string]string{"ROTATOR_STORE": dbURL}
	code, out := cli(env, "", "init")
	if code != 0 || !strings.Contains(out, "postgres://rotator@") {
		t.Fatalf("init: exit %d\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "vault.db")); err == nil {
		t.Error("init made a vault file beside a PostgreSQL store")
	}
	if code, out := cli(env, "Alice-pass-1234\n", "account", "add", "alice", "--template", "demo-social", "--username", "alice", "--password-stdin"); code != 0 {
		t.Fatalf("account add: exit %d\n%s", code, out)
	}
	if code, out := cli(env, "", "account", "list"); code != 0 || !strings.Contains(out, "alice") {
		t.Errorf("account list: exit %d\n%s", code, out)
	}
	if code, out := cli(env, "", "audit", "verify"); code != 0 {
		t.Errorf("audit verify: exit %d\n%s", code, out)
	}
	if code, out := cli(env, "", "init"); code == 0 || !strings.Contains(out, "already exists") {
		t.Errorf("a second init: exit %d\n%s", code, out)
	}
}
