package main

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestDemo is the README's first command: three accounts rotated and
// verified on the site, one flagged, exit 0, and nothing left behind.
func TestDemo(t *testing.T) {
	t.Parallel()
	start := time.Now()
	out, code := runRotator(t, filepath.Join(t.TempDir(), "unused"), "", "demo")
	took := time.Since(start)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		`(?m)^  alice  password +succeeded .* new password verified on the site$`,
		`(?m)^  bob    password \+ TOTP +succeeded .* new password verified on the site$`,
		`(?m)^  carol  two-step \+ TOTP +succeeded .* new password verified on the site$`,
		`(?m)^  dora   CAPTCHA +paused .* password unchanged, as it must be$`,
		`dora is flagged for an operator: captcha challenge`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("no %s in\n%s", want, out)
		}
	}
	t.Logf("rotator demo took %v", took)
	m := regexp.MustCompile(`vault (\S+)/vault.db;`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no vault path in\n%s", out)
	}
	if _, err := os.Stat(m[1]); err == nil {
		t.Errorf("the temporary data directory %s is left behind", m[1])
	}
	if n := len(lingeringChromium(15 * time.Second)); n != 0 {
		t.Errorf("%d Chromium processes left", n)
	}
}

// TestDemoServe: with --serve the demo prints the console and a token
// that signs in before the rotations are done; the flagged account's
// browser waits there; Ctrl-C (SIGINT) in the middle of the other
// accounts' rotations stops it cleanly, with no Chromium left.
func TestDemoServe(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "demo")
	cmd := rotatorCmd(data, "demo", "--serve", "--data", data)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var mu sync.Mutex
	var out strings.Builder
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			out.WriteString(sc.Text() + "\n")
			mu.Unlock()
			lines <- sc.Text()
		}
		close(lines)
	}()
	var consoleURL, token string
	deadline := time.After(3 * time.Minute)
	for token == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended:\n%s", out.String())
			}
			if v, ok := strings.CutPrefix(l, "console:  "); ok {
				consoleURL = v
			}
			if v, ok := strings.CutPrefix(l, "token:    "); ok {
				token = v
			}
		case <-deadline:
			mu.Lock()
			t.Fatalf("no console token printed:\n%s", out.String())
		}
	}
	// dora is flagged, and her browser, held for the console, is live
	// there (the console shows the held browser just after the flag).
	flags := func() (int, string) {
		req, err := http.NewRequest("GET", consoleURL+"api/flags", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	held := func(code int, body string) bool {
		return code == 200 && strings.Contains(body, `"account": "dora"`) && strings.Contains(body, `"live": "/live/dora"`)
	}
	code, body := flags()
	for deadline := time.Now().Add(90 * time.Second); !held(code, body) && time.Now().Before(deadline); code, body = flags() {
		time.Sleep(100 * time.Millisecond)
	}
	if !held(code, body) {
		t.Fatalf("flags: %d %s", code, body)
	}
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("demo --serve on SIGINT: %v", err)
		}
	case <-time.After(40 * time.Second):
		t.Fatal("demo --serve did not stop on SIGINT")
	}
	if _, err := os.Stat(filepath.Join(data, "vault.db")); err != nil {
		t.Errorf("--data DIR is kept: %v", err)
	}
	if n := len(lingeringChromium(15 * time.Second)); n != 0 {
		t.Errorf("%d Chromium processes left", n)
	}
}

// TestDemoNoChromium: when no rotation can run (browser.bin names a
// Chromium that is not there), the demo stops at once, exit 1, with the
// reason and the fix, instead of waiting for successes that cannot come.
func TestDemoNoChromium(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-chromium")
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte("browser:\n  bin: "+missing+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runRotator(t, filepath.Join(dir, "data"), "", "demo", "--timeout", "45s")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{missing, "apt-get install chromium"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "did not finish within") {
		t.Errorf("the demo waited for its timeout:\n%s", out)
	}
}
