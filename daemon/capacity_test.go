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

// A rotation waiting for a TOTP window gives its browser slot back and
// keeps its site's; it takes the browser slot back before going on.
func TestTOTPWaitGivesTheBrowserSlotBack(t *testing.T) {
	d := &Daemon{MaxConcurrent: 1, PerSite: 1}
	ctx := context.Background()
	a := &capacity{d: d, site: "x.example"}
	b := &capacity{d: d, site: "y.example"}
	c := &capacity{d: d, site: "x.example"}
	if err := a.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	a.ReleaseBrowser()
	a.ReleaseBrowser() // twice gives back nothing more
	if err := b.Acquire(ctx); err != nil {
		t.Fatalf("the waiting rotation's browser slot did not come back: %v", err)
	}
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	if err := c.Acquire(short); err == nil {
		t.Fatal("the waiting rotation's site slot was given away")
	}
	cancel()
	back := make(chan error, 1)
	go func() { back <- a.AcquireBrowser(ctx) }()
	select {
	case <-back:
		t.Fatal("a took a browser slot b holds")
	case <-time.After(100 * time.Millisecond):
	}
	b.Release()
	if err := <-back; err != nil {
		t.Fatal(err)
	}
	if err := a.AcquireBrowser(ctx); err != nil || len(d.slots) != 1 {
		t.Fatalf("a second AcquireBrowser: %v, %d slots taken", err, len(d.slots))
	}
	a.Release()
	if len(d.slots) != 0 || len(d.sites["x.example"]) != 0 || len(d.sites["y.example"]) != 0 {
		t.Fatalf("slots in use after all released: %d, %d, %d", len(d.slots), len(d.sites["x.example"]), len(d.sites["y.example"]))
	}
	// Released while waiting: Release gives back the site's slot only.
	if err := a.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	a.ReleaseBrowser()
	a.Release()
	if len(d.slots) != 0 || len(d.sites["x.example"]) != 0 {
		t.Fatalf("slots in use after a release while waiting: %d, %d", len(d.slots), len(d.sites["x.example"]))
	}
}
