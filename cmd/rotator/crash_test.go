package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// rotatorCmd runs the test binary as rotator.
func rotatorCmd(dataDir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "ROTATOR_RUN_MAIN=1", "ROTATOR_DATA="+dataDir, "XDG_CONFIG_HOME="+filepath.Join(dataDir, "no-config"))
	// A test may put a config beside the data directory.
	if cfg := filepath.Join(filepath.Dir(dataDir), "config.yaml"); fileExists(cfg) {
		cmd.Env = append(cmd.Env, "ROTATOR_CONFIG="+cfg)
	}
	return cmd
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// noGap writes a config without the minimum gap beside the data directory:
// these tests rotate back to back.
func noGap(t *testing.T, dataDir string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(filepath.Dir(dataDir), "config.yaml"), []byte("rotation:\n  min_gap: 0s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func runRotator(t *testing.T, dataDir, stdin string, args ...string) (string, int) {
	t.Helper()
	return runRotatorEnv(t, dataDir, nil, stdin, args...)
}

// runRotatorEnv is runRotator with more environment variables.
func runRotatorEnv(t *testing.T, dataDir string, env []string, stdin string, args ...string) (string, int) {
	t.Helper()
	cmd := rotatorCmd(dataDir, args...)
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), code
}

// orphanChromium lists live Chromium processes of a rotator (their profile
// is a rotator-chromium-* folder) that no live rotator or test process
// owns: what a dead rotator left behind. Chromium of tests running at the
// same time in other packages has a live test binary among its ancestors.
func orphanChromium() []int {
	type proc struct {
		ppid  int
		owner bool // a rotator or a Go test binary
		cmd   []byte
		uid   string
	}
	procs := map[int]proc{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		fields := strings.Fields(string(rest))
		if len(fields) < 2 || fields[0] == "Z" {
			continue
		}
		ppid, _ := strconv.Atoi(fields[1])
		cmd, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		uid := ""
		status, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "status"))
		for _, line := range strings.Split(string(status), "\n") {
			if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
				uid = f[1]
			}
		}
		procs[pid] = proc{ppid: ppid, cmd: cmd, uid: uid, owner: strings.HasSuffix(exe, ".test") || filepath.Base(exe) == "rotator"}
	}
	owned := func(p proc) bool {
		for q, seen := p.ppid, 0; q > 1 && seen < 64; seen++ {
			pp, ok := procs[q]
			if !ok {
				return false
			}
			if pp.owner {
				return true
			}
			q = pp.ppid
		}
		return false
	}
	// A browser's crash handler leaves its process tree, but keeps the
	// browser's session uid: it is owned while its browser is.
	ownedUIDs := map[string]bool{}
	for _, p := range procs {
		if bytes.Contains(p.cmd, []byte("rotator-chromium-")) && owned(p) && p.uid != "0" {
			ownedUIDs[p.uid] = true
		}
	}
	var out []int
	for pid, p := range procs {
		if !bytes.Contains(p.cmd, []byte("rotator-chromium-")) || ownedUIDs[p.uid] {
			continue
		}
		owned := false
		for q, seen := p.ppid, 0; q > 1 && seen < 64; seen++ {
			pp, ok := procs[q]
			if !ok {
				break
			}
			if pp.owner {
				owned = true
				break
			}
			q = pp.ppid
		}
		if !owned {
			out = append(out, pid)
		}
	}
	return out
}

// lingeringChromium waits up to d for orphaned Chromium to be gone, and
// returns what is still there: a browser closing in another test is an
// orphan for a moment, a leaked one stays.
func lingeringChromium(d time.Duration) []int {
	left := orphanChromium()
	for deadline := time.Now().Add(d); len(left) > 0 && time.Now().Before(deadline); left = orphanChromium() {
		time.Sleep(100 * time.Millisecond)
	}
	return left
}

// siteLogin signs in on the demo site over HTTP.
func siteLogin(base, user, pw string) bool {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	resp, err := c.PostForm(base+"/login", url.Values{"username": {user}, "password": {pw}})
	if err != nil {
		return false
	}
	resp.Body.Close()
	return strings.HasSuffix(resp.Request.URL.Path, "/home")
}

// killPoint is a moment of a rotation, told by the line rotator has just
// written on stderr, at which the crash test kills it.
type killPoint struct {
	name string
	// at reports whether to kill after line; afterChange says whether a
	// line of the change flow came before it.
	at func(line string, afterChange bool) bool
}

// stepLine splits a step's progress line into its flow and step kind.
func stepLine(line string) (flow, kind string) {
	f := strings.Fields(line)
	if len(f) < 3 {
		return "", ""
	}
	return f[0], f[2]
}

// TestKilledRotationRecovers kills rotator with SIGKILL at a few
// representative moments of a rotation against the demo site, which shows
// its confirmation as a refusal: while it holds the account's lease before
// anything is sent, right after the change form is submitted, and while it
// proves the new password by signing in with it. After each kill no
// Chromium is left behind, `rotator verify` takes the dead run's lease at
// once (it has two minutes to run otherwise) and recovers, and the vault's
// current password signs in on the site. Every other step boundary is
// covered without a browser by rotator's TestCrashCopiesRecover, which
// kills a run after each of its vault writes.
func TestKilledRotationRecovers(t *testing.T) {
	t.Parallel()
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	// The site takes each change but says so in the markup of a refusal
	// and keeps the form: the rotator must never take that for a refusal
	// and lose the password the site now has.
	site := demosite.New(demosite.Options{ChangesPerDay: 1000, LyingBanner: true})
	if err := site.AddUser(demosite.UserSpec{Name: "crash", Password: "Crash-pass-1234"}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	data := filepath.Join(t.TempDir(), "data")
	noGap(t, data)
	if out, code := runRotator(t, data, "", "init"); code != 0 {
		t.Fatal(out)
	}
	if out, code := runRotator(t, data, "Crash-pass-1234\n", "account", "add", "crash", "--template", "demo-social",
		"--username", "crash", "--url", srv.URL+"/", "--password-stdin"); code != 0 {
		t.Fatal(out)
	}
	if out, code := runRotator(t, data, "", "account", "limit", "crash", "1000", "--override"); code != 0 {
		t.Fatal(out)
	}

	vaultCurrent := func() string {
		key, err := secret.LoadKeyFile(filepath.Join(data, "master.key"))
		if err != nil {
			t.Fatal(err)
		}
		s, err := store.Open(context.Background(), filepath.Join(data, "vault.db"), key)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		pw, err := s.Password(context.Background(), "crash")
		if err != nil {
			t.Fatal(err)
		}
		return pw.Reveal()
	}

	points := []killPoint{
		{"holding the lease, nothing sent", func(line string, _ bool) bool {
			flow, kind := stepLine(line)
			return flow == "login" && kind == "goto"
		}},
		{"the change form just submitted", func(line string, _ bool) bool {
			flow, kind := stepLine(line)
			return flow == "change" && kind == "click"
		}},
		{"proving the new password", func(line string, afterChange bool) bool {
			flow, kind := stepLine(line)
			return afterChange && flow == "login" && kind == "click"
		}},
	}
	for _, p := range points {
		cmd := rotatorCmd(data, "rotate", "crash")
		stderr, err := cmd.StderrPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(stderr)
		killed, afterChange := false, false
		var lines []string
		for sc.Scan() {
			line := sc.Text()
			lines = append(lines, line)
			if p.at(line, afterChange) {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
				break
			}
			if flow, _ := stepLine(line); flow == "change" {
				afterChange = true
			}
		}
		cmd.Wait()
		if !killed {
			t.Fatalf("kill %s: the rotation ended before it:\n%s", p.name, strings.Join(lines, "\n"))
		}
		if left := lingeringChromium(15 * time.Second); len(left) > 0 {
			t.Fatalf("kill %s: Chromium %v outlived rotator", p.name, left)
		}
		// The dead run still holds its lease (for two minutes); verify
		// does not wait for a lease, so exit 0 says it took it at once.
		if !leaseHeld(t, filepath.Join(data, "vault.db"), "crash") {
			t.Fatalf("kill %s: the killed run held no lease", p.name)
		}
		out, code := runRotator(t, data, "", "verify", "crash")
		if code != 0 {
			t.Fatalf("kill %s: verify exit %d:\n%s", p.name, code, out)
		}
		cur := vaultCurrent()
		st, _ := site.User("crash")
		if st.Password != cur || !siteLogin(srv.URL, "crash", cur) {
			t.Fatalf("kill %s: the vault's current password does not sign in on the site", p.name)
		}
	}
	if left := lingeringChromium(15 * time.Second); len(left) > 0 {
		t.Errorf("Chromium %v left behind", left)
	}
	out, code := runRotator(t, data, "", "audit", "verify")
	if code != 0 {
		t.Errorf("audit: %s", out)
	}
}

// leaseHeld reads, behind the store's back, whether a lease on account is
// recorded in the vault.
func leaseHeld(t *testing.T, vault, account string) bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+vault+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM account_locks WHERE account = ?`, account).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n > 0
}
