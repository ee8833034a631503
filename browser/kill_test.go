package browser

import (
	"bufio"
	"context"
	"fmt"
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
// test binary as a child that launches Chromium, prints its pid and the
// profile, and waits to be killed.
func TestHelperLaunch(t *testing.T) {
	dir := os.Getenv("ROTATOR_HELPER_PROFILE")
	if dir == "" {
		t.Skip("helper process only")
	}
	b, err := Launch(context.Background(), Options{UserDataDir: dir})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("pid", b.PID())
	time.Sleep(time.Minute)
	os.Exit(0)
}

// processesUsing lists the pids whose command line mentions s.
func processesUsing(s string) []int {
	var out []int
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err == nil && strings.Contains(string(cmd), s) {
			out = append(out, pid)
		}
	}
	return out
}

func TestNoChromiumOutlivesAKilledRun(t *testing.T) {
	profile := filepath.Join(t.TempDir(), "profile-kill-test")
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperLaunch$")
	cmd.Env = append(os.Environ(), "ROTATOR_HELPER_PROFILE="+profile)
	stdout, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
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
	if len(processesUsing(profile)) == 0 {
		t.Fatal("no Chromium process found for the profile")
	}
	// The profile is locked while the run lives.
	if _, err := Launch(context.Background(), Options{UserDataDir: profile}); err == nil {
		t.Error("a second run opened a profile in use")
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if len(processesUsing(profile)) == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if left := processesUsing(profile); len(left) > 0 {
		for _, p := range left {
			syscall.Kill(p, syscall.SIGKILL)
		}
		t.Fatalf("Chromium processes %v outlived the killed run", left)
	}
	// And the profile is free again.
	b, err := Launch(context.Background(), Options{UserDataDir: profile})
	if err != nil {
		t.Fatalf("profile still locked after the run died: %v", err)
	}
	b.Close()
}
