package daemon

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/rotator-pam/rotator/store"
)

// capacity is a rotation's share of the daemon: a browser slot and a slot
// on its site. A rotation paused for an operator gives both back while it
// waits; one waiting for a TOTP window gives the browser slot back.
//
// With several workers (a PostgreSQL vault) the site's share is also taken
// in the vault (store.TakeSiteSlot), which every worker counts:
// serve.per_site bounds the rotations against a site across all of them.
type capacity struct {
	d       *Daemon
	site    string
	account string // the rotation's, for its slot in the vault ("": none)
	mu      sync.Mutex
	release []chan struct{}
	inVault bool
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
		sem = make(chan struct{}, d.perSite())
		d.sites[c.site] = sem
	}
	return d.slots, sem
}

func (d *Daemon) perSite() int {
	if d.PerSite <= 0 {
		return 1
	}
	return d.PerSite
}

// takeVaultSlot waits for a slot on the site in the vault, polling from
// 100 ms up to every second.
func (c *capacity) takeVaultSlot(ctx context.Context) error {
	d := c.d
	if d.Store == nil || c.account == "" || !store.IsURL(d.Store.Path()) {
		// An SQLite vault has one serve (the data folder's lock): this
		// worker's own count is the whole count.
		return nil
	}
	stale := d.SlotStale
	if stale <= 0 {
		stale = time.Hour
	}
	for wait := 100 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		ok, err := d.Store.TakeSiteSlot(ctx, c.site, c.account, d.perSite(), stale)
		if err != nil {
			return err
		}
		if ok {
			c.mu.Lock()
			c.inVault = true
			c.mu.Unlock()
			return nil
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// giveVaultSlot gives the vault's slot back, if taken.
func (c *capacity) giveVaultSlot() {
	c.mu.Lock()
	held := c.inVault
	c.inVault = false
	c.mu.Unlock()
	if !held {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.d.Store.ReleaseSiteSlot(ctx, c.site, c.account); err != nil {
		// Left in the vault, it no longer counts after SlotStale.
		c.d.log().Error("give back the site's slot", "site", c.site, "account", c.account, "err", err)
	}
}

// Acquire takes a slot on the site (this worker's, then the vault's),
// then a browser slot.
func (c *capacity) Acquire(ctx context.Context) error {
	global, site := c.sems()
	select {
	case site <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := c.takeVaultSlot(ctx); err != nil {
		<-site
		return err
	}
	select {
	case global <- struct{}{}:
	case <-ctx.Done():
		c.giveVaultSlot()
		<-site
		return ctx.Err()
	}
	c.mu.Lock()
	c.release = []chan struct{}{global, site}
	c.mu.Unlock()
	return nil
}

// ReleaseBrowser gives the browser slot alone back, keeping the site's:
// the rotation waits for a TOTP window, in the middle of a sign-in on its
// site. Once per Acquire, until AcquireBrowser.
func (c *capacity) ReleaseBrowser() {
	global, _ := c.sems()
	c.mu.Lock()
	defer c.mu.Unlock()
	i := slices.Index(c.release, global)
	if i < 0 {
		return
	}
	c.release = slices.Delete(c.release, i, i+1)
	<-global
}

// AcquireBrowser takes the browser slot back after ReleaseBrowser.
func (c *capacity) AcquireBrowser(ctx context.Context) error {
	global, _ := c.sems()
	c.mu.Lock()
	out := len(c.release) > 0 && !slices.Contains(c.release, global)
	c.mu.Unlock()
	if !out {
		return nil
	}
	select {
	case global <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	c.mu.Lock()
	c.release = append(c.release, global)
	c.mu.Unlock()
	return nil
}

// Release gives them back (once per Acquire).
func (c *capacity) Release() {
	c.mu.Lock()
	held := c.release
	c.release = nil
	c.mu.Unlock()
	c.giveVaultSlot()
	for _, sem := range held {
		<-sem
	}
}
