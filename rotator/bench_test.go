package rotator

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/store"
)

// rssKB sums the proportional set size (shared pages divided among their
// users, so Chromium's many processes are not counted twice) of this process
// and of all its descendants (Chromium and its helpers, whatever user they
// run as).
func rssKB() int64 {
	parent := map[int]int{}
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
		// pid (comm) state ppid ...: comm may hold spaces and parentheses.
		rest := stat[bytes.LastIndexByte(stat, ')')+1:]
		if f := bytes.Fields(rest); len(f) >= 2 {
			parent[pid], _ = strconv.Atoi(string(f[1]))
		}
	}
	self := os.Getpid()
	mine := func(pid int) bool {
		for range 64 { // a bound against a cycle read mid-change
			if pid == self {
				return true
			}
			p, ok := parent[pid]
			if !ok || p == 0 {
				return false
			}
			pid = p
		}
		return false
	}
	var total int64
	for pid := range parent {
		if !mine(pid) {
			continue
		}
		status, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "smaps_rollup"))
		for _, line := range bytes.Split(status, []byte("\n")) {
			if f := bytes.Fields(line); len(f) >= 2 && string(f[0]) == "Pss:" {
				n, _ := strconv.ParseInt(string(f[1]), 10, 64)
				total += n
			}
		}
	}
	return total
}

// BenchmarkRotation measures whole rotations against the demo site in real
// Chromium, one account per concurrent rotation (no TOTP, so no waiting for
// a time window): wall time per rotation, rotations per minute, and peak
// memory (PSS, Chromium included) in all and per concurrent rotation.
//
//	go test ./rotator -run xxx -bench Rotation -benchtime 4x
func BenchmarkRotation(b *testing.B) {
	for _, conc := range []int{1, 2, 4, 8} {
		b.Run(fmt.Sprintf("concurrent=%d", conc), func(b *testing.B) { benchRotations(b, conc) })
	}
}

func benchRotations(b *testing.B, conc int) {
	dir := b.TempDir()
	site := demosite.New(demosite.Options{ChangesPerDay: 1 << 20})
	env := newEnvWith(b, dir, site)
	ctx := context.Background()
	names := make([]string, conc)
	for i := range names {
		names[i] = fmt.Sprintf("user%d", i)
		env.add(demosite.UserSpec{Name: names[i], Password: "Bench-pass-1234"})
		if err := env.store.SetLimit(ctx, names[i], store.Limit{Max: 1 << 20, Override: true}); err != nil {
			b.Fatal(err)
		}
	}
	var peak atomic.Int64
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
				if kb := rssKB(); kb > peak.Load() {
					peak.Store(kb)
				}
			}
		}
	}()
	b.ResetTimer()
	start := time.Now()
	rotations := 0
	for b.Loop() {
		var wg sync.WaitGroup
		for _, n := range names {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, err := env.rot.Rotate(ctx, n)
				if err != nil || res.Outcome != rotation.Succeeded {
					b.Errorf("%s: %+v %v", n, res, err)
				}
			}()
		}
		wg.Wait()
		rotations += conc
	}
	elapsed := time.Since(start)
	close(stop)
	b.ReportMetric(elapsed.Seconds()/float64(rotations)*float64(conc), "s/rotation")
	b.ReportMetric(float64(rotations)/elapsed.Minutes(), "rotations/min")
	b.ReportMetric(float64(peak.Load())/1024, "MB-peak-pss")
	b.ReportMetric(float64(peak.Load())/1024/float64(conc), "MB-peak-pss/rotation")
}
