package browser

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestHelperLaunch is not a test: TestNoChromiumOutlivesAKilledRun runs the
// test binary as a child that launches Chromium, opens a page, prints
// Chromium's pid, and waits to be killed.
func TestHelperLaunch(t *testing.T) {
	url := os.Getenv("ROTATOR_HELPER_URL")
	if url == "" {
		t.Skip("helper process only")
	}
	ctx := context.Background()
	b, err := Launch(ctx, Options{})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	p, err := b.NewPage(ctx, PageOptions{})
	if err == nil {
		err = p.Navigate(url)
	}
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	p.WaitLoad()
	fmt.Println("pid", b.PID())
	time.Sleep(time.Minute)
	os.Exit(0)
}

// procStat reads a process's parent and process group.
func procStat(pid int) (ppid, pgid int, ok bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, false
	}
	// The command name is in parentheses and may hold spaces.
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 3 || fields[0] == "Z" {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(fields[1])
	pgid, _ = strconv.Atoi(fields[2])
	return ppid, pgid, true
}

// tree lists root and every live process descended from it, in its process
// group, or (a session uid of its own) running as its uid.
func tree(root int) []int {
	uid := uidOf(root)
	out := descendants(root)
	if uid < sessionUIDLow {
		return out
	}
	seen := map[int]bool{}
	for _, p := range out {
		seen[p] = true
	}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		if pid, err := strconv.Atoi(e.Name()); err == nil && !seen[pid] && uidOf(pid) == uid {
			if _, _, ok := procStat(pid); ok {
				out = append(out, pid)
			}
		}
	}
	return out
}

// uidOf is a process's real uid (0 when it is gone).
func uidOf(pid int) uint32 {
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for line := range strings.Lines(string(status)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			n, _ := strconv.Atoi(f[1])
			return uint32(n)
		}
	}
	return 0
}

func descendants(root int) []int {
	parents := map[int]int{}
	groups := map[int]int{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, pgid, ok := procStat(pid); ok {
			parents[pid], groups[pid] = ppid, pgid
		}
	}
	var out []int
	for pid := range parents {
		for p := pid; p > 1; p = parents[p] {
			if p == root || groups[pid] == root {
				out = append(out, pid)
				break
			}
			if _, ok := parents[p]; !ok {
				break
			}
		}
	}
	return out
}

// listeningSockets returns the inodes of the TCP sockets in LISTEN state.
func listeningSockets(t *testing.T) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for i, line := range strings.Split(string(data), "\n") {
			fields := strings.Fields(line)
			if i == 0 || len(fields) < 10 {
				continue
			}
			if fields[3] == "0A" { // TCP_LISTEN
				out[fields[9]] = true
			}
		}
	}
	return out
}

// socketsOf returns the socket inodes a process holds open.
func socketsOf(pid int) []string {
	var out []string
	dir := fmt.Sprintf("/proc/%d/fd", pid)
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		l, err := os.Readlink(filepath.Join(dir, e.Name()))
		if err == nil && strings.HasPrefix(l, "socket:[") {
			out = append(out, strings.TrimSuffix(strings.TrimPrefix(l, "socket:["), "]"))
		}
	}
	return out
}

// The browser of a run listens on no socket, runs nothing from the temp
// folder, never as root, and dies with a SIGKILLed rotator.
func TestNoChromiumOutlivesAKilledRun(t *testing.T) {
	needChromium(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><title>a page</title><input type=password>`)
	}))
	defer srv.Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLaunch$")
	cmd.Env = append(os.Environ(), "ROTATOR_HELPER_URL="+srv.URL)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	sc := bufio.NewScanner(stdout)
	pid := 0
	for sc.Scan() {
		if n, ok := strings.CutPrefix(sc.Text(), "pid "); ok {
			pid, _ = strconv.Atoi(n)
			break
		}
		if strings.HasPrefix(sc.Text(), "error") {
			t.Fatal(sc.Text())
		}
	}
	if pid == 0 {
		t.Fatal("helper printed no pid")
	}
	procs := tree(pid)
	if len(procs) < 2 {
		t.Fatalf("Chromium's process tree is %v: expected the browser and its children", procs)
	}
	listening := listeningSockets(t)
	tmp, _ := filepath.EvalSymlinks(os.TempDir())
	for _, p := range procs {
		for _, ino := range socketsOf(p) {
			if listening[ino] {
				cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
				t.Errorf("Chromium process %d listens on a TCP socket (inode %s): %s", p, ino, strings.ReplaceAll(string(cmdline), "\x00", " "))
			}
		}
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", p)); err == nil && strings.HasPrefix(exe, tmp+"/") {
			t.Errorf("process %d runs %s, from the temp folder", p, exe)
		}
		status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", p))
		for line := range strings.Lines(string(status)) {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" && (f[1] == "0" || f[2] == "0") {
				t.Errorf("Chromium process %d runs as root: %s", p, strings.TrimSpace(line))
			}
		}
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	var left []int
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		left = left[:0]
		for _, p := range procs {
			if _, _, ok := procStat(p); ok {
				left = append(left, p)
			}
		}
		if len(left) == 0 {
			break
		}
	}
	if len(left) > 0 {
		for _, p := range left {
			syscall.Kill(p, syscall.SIGKILL)
		}
		t.Fatalf("Chromium processes %v outlived the killed run", left)
	}
}

// As root, Chromium runs as an unprivileged user that cannot read what
// rotator keeps: a page asked to open a root-only file gets nothing of it.
func TestChromiumCannotReadRootFiles(t *testing.T) {
	needChromium(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root: Chromium then runs as browser.user")
	}
	dir := t.TempDir() // 0700, root's
	key := filepath.Join(dir, "master-key.txt")
	if err := os.WriteFile(key, []byte("key-canary-51c2e"), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Launch(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", b.PID()))
	if err != nil {
		t.Fatal(err)
	}
	uid := -1
	for line := range strings.Lines(string(status)) {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "Uid:" {
			uid, _ = strconv.Atoi(f[1])
		}
	}
	if uid < sessionUIDLow {
		t.Errorf("Chromium runs as uid %d, not a session uid of its own", uid)
	}
	p, err := b.NewPage(ctx, PageOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p = p.Context(ctx)
	_ = p.Navigate("file://" + key)
	p.WaitLoad()
	html, err := p.HTML()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(html, "key-canary-51c2e") {
		t.Fatal("Chromium read a root-only file")
	}
}

// Chromium gets a minimal environment, not rotator's: a secret handed to
// rotator in its environment does not reach the browser.
func TestChromiumGetsNoInheritedEnvironment(t *testing.T) {
	needChromium(t)
	t.Setenv("ROTATOR_MASTER_KEY_CANARY", "env-canary-0d9e")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b, err := Launch(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, p := range tree(b.PID()) {
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", p))
		if err != nil {
			continue
		}
		if strings.Contains(string(env), "env-canary-0d9e") {
			t.Errorf("Chromium process %d inherited rotator's environment", p)
		}
	}
}

func TestProxyCredentialsRefused(t *testing.T) {
	for _, proxy := range []string{"http://user:secret@proxy.example:3128", "socks5://u:p@127.0.0.1:1080/"} {
		if _, err := Launch(context.Background(), Options{Proxy: proxy}); err == nil || strings.Contains(err.Error(), "secret") {
			t.Errorf("proxy %q: %v", "[redacted]", err)
		}
	}
	if err := checkProxy("http://127.0.0.1:3128"); err != nil {
		t.Errorf("a proxy without credentials: %v", err)
	}
}

// As root, each browser runs as a uid of its own: two sessions do not share
// one, and no process but the browser's has it; after Close none is left.
func TestSessionsGetUIDsOfTheirOwn(t *testing.T) {
	needChromium(t)
	if os.Geteuid() != 0 {
		t.Skip("needs root: Chromium then runs as another user")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var uids []uint32
	for range 2 {
		b, err := Launch(ctx, Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		uid := uidOf(b.PID())
		for _, p := range tree(b.PID()) {
			if exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", p)); !strings.HasPrefix(exe, "/usr/lib/chromium/") {
				t.Errorf("process %d (%s) runs as the browser's uid %d", p, exe, uid)
			}
		}
		uids = append(uids, uid)
	}
	if uids[0] == uids[1] || uids[0] < sessionUIDLow {
		t.Errorf("two sessions run as uids %v", uids)
	}
}

// A profile that a killed rotator left behind (its lock no longer held) is
// removed by the next launch; a live browser's profile is not.
func TestStaleProfilesSwept(t *testing.T) {
	needChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	live, err := Launch(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	parent := filepath.Dir(live.inst.tempDir)
	stale := filepath.Join(parent, profilePrefix+"stale-test")
	if err := os.MkdirAll(filepath.Join(stale, "Default"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := Launch(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		os.RemoveAll(stale)
		os.Remove(stale + ".lock")
		t.Errorf("a stale profile was left: %v", err)
	}
	if _, err := os.Stat(live.inst.tempDir); err != nil {
		t.Errorf("a live browser's profile was removed: %v", err)
	}
}

// A launch's sweep never removes the profile another launch is setting up:
// the lock beside a new profile is held from the moment it has the name
// the sweep looks for (a CI run once lost a profile between its lock's
// creation and its locking).
func TestSweepSparesProfilesBeingMade(t *testing.T) {
	parent := t.TempDir()
	stop := make(chan struct{})
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		for {
			select {
			case <-stop:
				return
			default:
				sweepProfiles(parent)
			}
		}
	}()
	defer func() { close(stop); <-swept }()
	for i := 0; i < 500; i++ {
		dir, lock, err := newProfile(parent)
		if err != nil {
			t.Fatal(err)
		}
		_, errDir := os.Stat(dir)
		_, errLock := os.Stat(dir + ".lock")
		os.RemoveAll(dir)
		os.Remove(dir + ".lock")
		lock.Close()
		if errDir != nil || errLock != nil {
			t.Fatalf("round %d: a sweep removed a profile being made: %v, %v", i, errDir, errLock)
		}
	}
}

// A profile whose lock a killed launch never put in place (it died between
// making ".locking" and the rename) is swept once that file is a minute
// old, and not before: until then it may be a launch at work.
func TestSweepRemovesAbandonedLocking(t *testing.T) {
	parent := t.TempDir()
	old := filepath.Join(parent, profilePrefix+"old")
	fresh := filepath.Join(parent, profilePrefix+"fresh")
	for _, p := range []string{old, fresh} {
		if err := os.MkdirAll(filepath.Join(p, "Default"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p+".locking", nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	past := time.Now().Add(-2 * time.Minute)
	if err := os.Chtimes(old+".locking", past, past); err != nil {
		t.Fatal(err)
	}
	sweepProfiles(parent)
	for _, p := range []string{old, old + ".locking"} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", p, err)
		}
	}
	for _, p := range []string{fresh, fresh + ".locking"} {
		if _, err := os.Stat(p); err != nil {
			t.Errorf("%s removed: %v", p, err)
		}
	}
}
