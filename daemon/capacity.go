package daemon

import (
	"context"
	"sync"
)

// capacity is a rotation's share of the daemon: a browser slot and a slot
// on its site. A rotation paused for an operator gives both back while it
// waits.
type capacity struct {
	d        *Daemon
	site     string
	mu       sync.Mutex
	released []chan struct{}
}

func (c *capacity) sems() (chan struct{}, chan struct{}) {
	d := c.d
	d.sitesMu.Lock()
	defer d.sitesMu.Unlock()
	if d.slots == nil {
		n := d.MaxConcurrent
		if n <= 0 {
			n = 2
		}
		d.slots = make(chan struct{}, n)
	}
	if d.sites == nil {
		d.sites = map[string]chan struct{}{}
	}
	sem, ok := d.sites[c.site]
	if !ok {
		per := d.PerSite
		if per <= 0 {
			per = 1
		}
		sem = make(chan struct{}, per)
		d.sites[c.site] = sem
	}
	return d.slots, sem
}

// Acquire takes a slot on the site, then a browser slot.
func (c *capacity) Acquire(ctx context.Context) error {
	global, site := c.sems()
	select {
	case site <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case global <- struct{}{}:
	case <-ctx.Done():
		<-site
		return ctx.Err()
	}
	c.mu.Lock()
	c.released = []chan struct{}{global, site}
	c.mu.Unlock()
	return nil
}

// Release gives both back (once per Acquire).
func (c *capacity) Release() {
	c.mu.Lock()
	held := c.released
	c.released = nil
	c.mu.Unlock()
	for _, sem := range held {
		<-sem
	}
}
