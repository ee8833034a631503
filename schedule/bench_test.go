package schedule

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// BenchmarkScheduler100k loads 100,000 accounts into the scheduler and
// measures a pass (the due accounts popped, checked against the cap and the
// gap from the vault's history, and rescheduled): time per pass when 1% of
// the accounts are due, and the scheduler's memory.
//
//	go test ./schedule -run xxx -bench Scheduler100k -benchtime 20x
func BenchmarkScheduler100k(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st, err := store.Create(ctx, filepath.Join(b.TempDir(), "vault.db"), secret.NewMasterKey(), store.WithClock(clock), store.WithoutSync())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	batch := make([]store.NewAccount, n)
	for i := range batch {
		batch[i] = store.NewAccount{Account: store.Account{Name: fmt.Sprintf("a%06d", i), Template: "t", Username: "u", Schedule: "@every 1h"},
			Password: secret.New("p")}
	}
	if err := st.ImportAccounts(ctx, batch); err != nil {
		b.Fatal(err)
	}
	sc := &Scheduler{Store: st, DefaultSpec: "@daily", Jitter: 100 * time.Hour, Now: clock}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	start := time.Now()
	if err := sc.Load(ctx); err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	runtime.GC()
	runtime.ReadMemStats(&m1)
	// Due times are spread over 100 h by the jitter: one hour holds ~1%.
	due := 0
	b.ResetTimer()
	for b.Loop() {
		now = now.Add(time.Hour)
		names, err := sc.Due(ctx)
		if err != nil {
			b.Fatal(err)
		}
		for _, d := range names {
			name := d.Name
			if _, err := sc.Done(ctx, name, rotation.Succeeded); err != nil {
				b.Fatal(err)
			}
		}
		due += len(names)
	}
	b.ReportMetric(float64(due)/float64(b.N), "due/pass")
	// ResetTimer drops metrics reported before it: these go last.
	b.ReportMetric(float64(m1.HeapAlloc-m0.HeapAlloc)/n, "heap-B/account")
	b.ReportMetric(load.Seconds(), "s-first-load")
}
