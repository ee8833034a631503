package schedule

import (
	"math/rand/v2"
	"sort"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

func at(h float64) time.Time { return t0.Add(time.Duration(h * float64(time.Hour))) }

func TestNextAllowed(t *testing.T) {
	p := Policy{MinGap: DefaultMinGap}
	tests := []struct {
		name    string
		changes []time.Time
		now     time.Time
		want    time.Time
		why     string
	}{
		{"no history", nil, at(10), at(10), ""},
		{"gap", []time.Time{at(8)}, at(10), at(14), "minimum gap"},
		{"gap passed", []time.Time{at(1)}, at(10), at(10), ""},
		{"cap", []time.Time{at(1), at(8)}, at(15), at(25), "cap: 2 changes"},
		{"cap passed", []time.Time{at(1), at(8)}, at(26), at(26), ""},
		{"gap after cap", []time.Time{at(-10), at(20)}, at(21), at(26), "minimum gap"},
		{"unsorted", []time.Time{at(8), at(1)}, at(15), at(25), "cap"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := p.NextAllowed(tt.changes, tt.now)
			if !got.Equal(tt.want) || !strings.Contains(why, tt.why) || (tt.why == "" && why != "") {
				t.Errorf("got %v %q, want %v %q", got.Sub(t0), why, tt.want.Sub(t0), tt.why)
			}
		})
	}
	if got, _ := (Policy{MaxChanges: 1}).NextAllowed([]time.Time{at(5)}, at(6)); !got.Equal(at(29)) {
		t.Errorf("max 1: %v", got.Sub(t0))
	}
}

// Whatever the history, the time NextAllowed gives keeps the policy.
func TestNextAllowedProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 20000 {
		p := Policy{MaxChanges: 1 + r.IntN(3), MinGap: time.Duration(r.IntN(12)) * time.Hour}
		var cs []time.Time
		// A history that keeps the policy.
		now := t0
		for range r.IntN(8) {
			now = now.Add(time.Duration(r.IntN(40*60)) * time.Minute)
			next, _ := p.NextAllowed(cs, now)
			cs = append(cs, next)
			now = next
		}
		now = now.Add(time.Duration(r.IntN(30*60)) * time.Minute)
		next, _ := p.NextAllowed(cs, now)
		if next.Before(now) {
			t.Fatalf("%d: next before now", i)
		}
		all := append(append([]time.Time(nil), cs...), next)
		sort.Slice(all, func(a, b int) bool { return all[a].Before(all[b]) })
		for j := range all {
			n := 0
			for k := range all {
				if !all[k].After(all[j]) && all[k].After(all[j].Add(-24*time.Hour)) {
					n++
				}
			}
			if n > p.max() {
				t.Fatalf("%d: %d changes in 24h with max %d", i, n, p.max())
			}
			if j > 0 && all[j].Sub(all[j-1]) < p.gap() {
				t.Fatalf("%d: gap %v < %v", i, all[j].Sub(all[j-1]), p.gap())
			}
		}
	}
}

func TestNextAndJitter(t *testing.T) {
	s, err := Parse("@every 12h")
	if err != nil {
		t.Fatal(err)
	}
	a := Next(s, "alice", t0, time.Hour)
	if a.Before(t0.Add(12*time.Hour)) || !a.Before(t0.Add(13*time.Hour)) {
		t.Errorf("jittered next %v", a.Sub(t0))
	}
	if b := Next(s, "alice", t0, time.Hour); !a.Equal(b) {
		t.Error("jitter not stable")
	}
	if b := Next(s, "bob", t0, time.Hour); a.Equal(b) {
		t.Error("no spread between accounts (unlikely unless broken)")
	}
	d, _ := Parse("CRON_TZ=Europe/Paris 0 3 * * *")
	if n := Next(d, "x", t0, 0); n.UTC().Hour() != 2 {
		t.Errorf("CRON_TZ: %v", n.UTC())
	}
	if _, err := Parse("every day"); err == nil {
		t.Error("bad spec accepted")
	}
}

func TestBackoff(t *testing.T) {
	b := Backoff{Base: time.Minute, Max: time.Hour}
	prev := time.Duration(0)
	for n := 1; n <= 10; n++ {
		d := b.Delay("a", n)
		if d < prev/2 || d > time.Hour+time.Hour/4 {
			t.Errorf("n=%d: %v", n, d)
		}
		prev = d
	}
	if b.Delay("a", 1) < time.Minute || b.Delay("a", 3) < 4*time.Minute {
		t.Error("not exponential")
	}
}
