package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// serveProc is a running `rotator serve` with its log lines.
type serveProc struct {
	t     *testing.T
	done  chan struct{}
	mu    sync.Mutex
	lines []string
	kill  func(syscall.Signal)
}

func startServe(t *testing.T, data string) *serveProc {
	cmd := rotatorCmd(data, "serve")
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &serveProc{t: t, done: make(chan struct{}), kill: func(s syscall.Signal) { cmd.Process.Signal(s) }}
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
		}
		cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() { cmd.Process.Kill(); <-p.done })
	return p
}

func (p *serveProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

func (p *serveProc) waitLog(re string, d time.Duration) bool {
	r := regexp.MustCompile(re)
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if r.MatchString(p.log()) {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

func metric(t *testing.T, port int, re string) float64 {
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var sum float64
	for _, m := range regexp.MustCompile(`(?m)^`+re+` (\S+)$`).FindAllStringSubmatch(string(b), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		sum += v
	}
	return sum
}

// TestServe runs `rotator serve` with demo-site accounts on an @every
// schedule: each is rotated, then held by the cap, and /metrics says so.
// Then a daemon killed with SIGKILL mid-rotation recovers the account when
// it starts again, before rotating it.
func TestServe(t *testing.T) {
	t.Parallel()
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	site := demosite.New(demosite.Options{ChangesPerDay: 100})
	users := []string{"ann", "ben"}
	for _, u := range users {
		if err := site.AddUser(demosite.UserSpec{Name: u, Password: "Initial-pass-" + u + "-1"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := site.AddUser(demosite.UserSpec{Name: "cap", Password: "Cap-pass-123456", Captcha: true}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(site.Handler())
	defer srv.Close()
	var (
		hookMu sync.Mutex
		hooks  []string
	)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		hookMu.Lock()
		hooks = append(hooks, string(b))
		hookMu.Unlock()
	}))
	defer hook.Close()
	data := filepath.Join(t.TempDir(), "data")
	port := freePort(t)
	if err := os.WriteFile(filepath.Join(filepath.Dir(data), "config.yaml"), []byte(fmt.Sprintf(
		"rotation:\n  min_gap: 0s\nschedule:\n  jitter: 0s\nserve:\n  addr: 127.0.0.1:%d\n  shutdown_timeout: 30s\nnotify:\n  webhook_url: %s/hook\n", port, hook.URL)), 0o600); err != nil {
		t.Fatal(err)
	}
	initOut, code := runRotator(t, data, "", "init")
	if code != 0 {
		t.Fatal(initOut)
	}
	m := regexp.MustCompile(`console token:  (rtc_\S+)`).FindStringSubmatch(initOut)
	if m == nil {
		t.Fatalf("init shows no console token:\n%s", initOut)
	}
	token := m[1]
	for _, u := range users {
		if out, code := runRotator(t, data, "Initial-pass-"+u+"-1\n", "account", "add", u, "--template", "demo-social",
			"--username", u, "--url", srv.URL+"/", "--schedule", "@every 2s", "--password-stdin"); code != 0 {
			t.Fatal(out)
		}
	}
	if out, code := runRotator(t, data, "Cap-pass-123456\n", "account", "add", "cap", "--template", "demo-social",
		"--username", "cap", "--url", srv.URL+"/", "--schedule", "@every 2s", "--password-stdin"); code != 0 {
		t.Fatal(out)
	}
	p := startServe(t, data)
	deadline := time.Now().Add(3 * time.Minute)
	for metric(t, port, `rotator_rotations_total\{outcome="succeeded",template="demo-social"\}`) < 4 && time.Now().Before(deadline) {
		time.Sleep(500 * time.Millisecond)
	}
	if n := metric(t, port, `rotator_rotations_total\{outcome="succeeded",template="demo-social"\}`); n != 4 {
		t.Fatalf("%v successful rotations, want 4\n%s", n, p.log())
	}
	// Held by the cap: once the scheduler has recorded the hold for each
	// user, and the CAPTCHA account has paused (and the webhook heard of
	// it), there is no third change, however often the schedule says.
	settled := func() bool {
		out, _ := runRotator(t, data, "", "schedule")
		for _, u := range users {
			if !regexp.MustCompile(`(?m)^` + u + ` .* cap: 2 changes`).MatchString(out) {
				return false
			}
		}
		hookMu.Lock()
		heard := len(hooks) > 0
		hookMu.Unlock()
		return heard && metric(t, port, `rotator_accounts\{state="paused"\}`) == 1
	}
	for deadline := time.Now().Add(time.Minute); !settled() && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	if n := metric(t, port, `rotator_rotations_total\{outcome="succeeded",template="demo-social"\}`); n != 4 {
		t.Errorf("%v rotations after the cap", n)
	}
	if n := metric(t, port, `rotator_rotation_duration_seconds_count\{template="demo-social"\}`); n < 4 {
		t.Errorf("duration histogram count %v", n)
	}
	if n := metric(t, port, `rotator_job_start_delay_seconds_count`); n < 4 {
		t.Errorf("start delay count %v", n)
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", port))
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("healthz: %v", err)
	}
	// The CAPTCHA account paused, once, and the webhook heard of it.
	if n := metric(t, port, `rotator_accounts\{state="paused"\}`); n != 1 {
		t.Errorf("paused gauge %v", n)
	}
	hookMu.Lock()
	if len(hooks) != 1 || !strings.Contains(hooks[0], `"event":"rotation.paused"`) || !strings.Contains(hooks[0], `"kind":"captcha"`) ||
		strings.Contains(hooks[0], "Cap-pass") {
		t.Errorf("webhook calls: %v", hooks)
	}
	hookMu.Unlock()
	// The console: the paused account's browser waits there; an operator
	// aborts it through the API (the live resolution itself is tested in
	// the console package).
	api := func(method, path string) (int, string) {
		req, _ := http.NewRequest(method, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := api("GET", "/api/flags"); code != 200 || !strings.Contains(body, `"account": "cap"`) || !strings.Contains(body, `"live": "/live/cap"`) {
		t.Errorf("flags: %d %s", code, body)
	}
	if code, body := api("POST", "/api/flags/cap/abort"); code != 200 || !strings.Contains(body, "stays flagged") {
		t.Errorf("abort: %d %s", code, body)
	}
	if code, _ := api("GET", "/api/accounts"); code != 200 {
		t.Errorf("accounts: %d", code)
	}
	if strings.Contains(p.log(), token) {
		t.Error("the console token is in serve's log")
	}
	p.kill(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		t.Fatal("serve did not stop on SIGTERM")
	}
	out, _ := runRotator(t, data, "", "schedule")
	if !regexp.MustCompile(`(?m)^cap .* waits for an operator`).MatchString(out) {
		t.Errorf("schedule does not show cap waiting for an operator:\n%s", out)
	}
	for _, u := range users {
		if !regexp.MustCompile(`(?m)^` + u + ` .* cap: 2 changes`).MatchString(out) {
			t.Errorf("schedule does not show %s held by the cap:\n%s", u, out)
		}
		st, _ := site.User(u)
		if st.ChangesToday != 2 {
			t.Errorf("%s: the site saw %d changes", u, st.ChangesToday)
		}
	}

	// Kill a daemon mid-rotation: lift ann's cap, let a rotation start,
	// SIGKILL after its new password is stored.
	if out, code := runRotator(t, data, "", "account", "limit", "ann", "100", "--override"); code != 0 {
		t.Fatal(out)
	}
	if out, code := runRotator(t, data, "", "account", "limit", "ben", "1"); code != 0 { // ben stays held
		t.Fatal(out)
	}
	p = startServe(t, data)
	if !p.waitLog(`"msg":"new password stored as (pending|candidate #\d+)".*"account":"ann"|"account":"ann".*"msg":"new password stored as (pending|candidate #\d+)"`, 60*time.Second) &&
		!p.waitLog(`rotation starts.*ann`, 1*time.Second) {
		t.Fatalf("no rotation of ann started:\n%s", p.log())
	}
	p.kill(syscall.SIGKILL)
	<-p.done
	p = startServe(t, data)
	if !p.waitLog(`"msg":"recovery done","account":"ann"`, 90*time.Second) {
		t.Fatalf("no recovery at start:\n%s", p.log())
	}
	log := p.log()
	rec := strings.Index(log, `"msg":"recovering an unfinished rotation","account":"ann"`)
	rot := strings.Index(log, `"msg":"rotation starts","account":"ann"`)
	if rec < 0 || (rot >= 0 && rot < rec) {
		t.Errorf("recovery did not come before the next rotation:\n%s", log)
	}
	p.kill(syscall.SIGTERM)
	<-p.done
	key, _ := secret.LoadKeyFile(filepath.Join(data, "master.key"))
	st, err := store.Open(context.Background(), filepath.Join(data, "vault.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cur, _ := st.Password(context.Background(), "ann")
	if s, _ := site.User("ann"); s.Password != cur.Reveal() {
		t.Error("after the kill and recovery the vault's current password is not the site's")
	}
}
