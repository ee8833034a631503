package daemon

import (
	"context"
	"testing"
	"time"
)

// A rotation paused for an operator gives its browser slot and its site
// slot back; resuming waits for them.
func TestPausedRotationGivesItsSlotsBack(t *testing.T) {
	d := &Daemon{MaxConcurrent: 1, PerSite: 1}
	ctx := context.Background()
	a := &capacity{d: d, site: "example.com"}
	b := &capacity{d: d, site: "example.com"}
	if err := a.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	if err := b.Acquire(short); err == nil {
		t.Fatal("two rotations on one site at once")
	}
	cancel()
	a.Release() // a pauses
	if err := b.Acquire(ctx); err != nil {
		t.Fatalf("the paused rotation's slot did not come back: %v", err)
	}
	resumed := make(chan error, 1)
	go func() { resumed <- a.Acquire(ctx) }()
	select {
	case <-resumed:
		t.Fatal("a resumed while b held the slots")
	case <-time.After(100 * time.Millisecond):
	}
	b.Release()
	if err := <-resumed; err != nil {
		t.Fatal(err)
	}
	a.Release()
	a.Release() // a second release gives back nothing
	if len(d.slots) != 0 || len(d.sites["example.com"]) != 0 {
		t.Fatalf("slots in use after all released: %d, %d", len(d.slots), len(d.sites["example.com"]))
	}
}
