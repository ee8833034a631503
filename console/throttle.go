package console

import (
	"fmt"
	"math"
	"net"
	"sort"
	"sync"
	"time"
)

// Refused sign-ins are throttled per client address, with a global
// backstop, by token buckets: each check takes a token, and a success
// gives it back (and forgets the address), so only refusals drain them. A
// few typos cost nothing, a guessing client soon waits. A throttled attempt is answered
// 429 with Retry-After and its token is not even checked.
//
// The audit log gets the first refusal from an address in a window, then
// one summary row with how many more were refused or throttled, written
// when the window ends or when that address signs in.
const (
	// perAddrBurst refusals from one address pass unthrottled; then one
	// more per perAddrEvery.
	perAddrBurst = 5
	perAddrEvery = time.Minute
	// globalBurst refusals from all addresses together; then one more per
	// globalEvery.
	globalBurst = 30
	globalEvery = 10 * time.Second
	// auditWindow is how long after an audited refusal further ones from
	// the same address are only counted.
	auditWindow = 10 * time.Minute
	// maxAddrs bounds the addresses remembered; past it, the least
	// recently seen is forgotten (its pending summary written first).
	maxAddrs = 1024
)

// bucket is a token bucket: capacity burst, one token back per every.
type bucket struct {
	tokens float64
	at     time.Time
}

func (b *bucket) refill(now time.Time, burst float64, every time.Duration) {
	if b.at.IsZero() {
		b.tokens, b.at = burst, now
		return
	}
	if el := now.Sub(b.at); el > 0 {
		b.tokens = math.Min(burst, b.tokens+float64(el)/float64(every))
		b.at = now
	}
}

// wait is how long until a token is back (0: one is there).
func (b *bucket) wait(every time.Duration) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) * float64(every))
}

// addrState is what the throttle remembers of one client address.
type addrState struct {
	bucket bucket
	seen   time.Time
	// window is when the audited refusal opened the current audit window
	// (zero: none open); more counts the refusals and throttled attempts
	// since, for the summary row.
	window time.Time
	more   int
}

// summary is a row for the audit log: how many more refused or throttled
// sign-ins an address made in a window.
type summary struct {
	addr     string
	from, to time.Time
	count    int
}

func (s summary) detail() string {
	return fmt.Sprintf("%d more sign-ins from %s refused or throttled between %s and %s", s.count, s.addr,
		s.from.UTC().Format(time.RFC3339), s.to.UTC().Format(time.RFC3339))
}

// throttle keeps the buckets and audit windows. Its zero value is ready.
type throttle struct {
	mu     sync.Mutex
	global bucket
	addrs  map[string]*addrState
	// swept is when the address table was last swept: a request sweeps it
	// at most every sweepEvery, not on every call.
	swept time.Time
}

// sweepEvery bounds how often a request walks the address table.
const sweepEvery = 10 * time.Second

// clientKey is the address a client is throttled by: the IP, and for IPv6
// its /64 (one host usually holds a whole /64).
func clientKey(host string) string {
	ip := net.ParseIP(host)
	if ip == nil {
		return host
	}
	if ip.To4() == nil {
		return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip.String()
}

// allow reports whether a sign-in from addr may be checked now; if not, it
// says how long to wait, and whether this throttled attempt is to be
// audited (the first of a window) or only counted. It also returns the
// summaries of windows that have ended, to be audited.
func (t *throttle) allow(addr string, now time.Time) (wait time.Duration, audit bool, done []summary) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.swept) >= sweepEvery {
		done = t.sweep(now)
	}
	t.global.refill(now, globalBurst, globalEvery)
	a := t.state(addr, now, &done)
	a.bucket.refill(now, perAddrBurst, perAddrEvery)
	wait = max(a.bucket.wait(perAddrEvery), t.global.wait(globalEvery))
	if wait > 0 {
		return wait, a.count(now), done
	}
	// The check is paid for before it is made, so that attempts sent
	// at once cannot all pass; a success gives it back.
	a.bucket.tokens--
	t.global.tokens--
	return 0, false, done
}

// refused records a refused sign-in from addr (its token was taken by
// allow). It reports whether this one is to be audited (the first of a
// window); the others are counted.
func (t *throttle) refused(addr string, now time.Time) (audit bool, done []summary) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := t.state(addr, now, &done)
	return a.count(now), done
}

// succeeded ends the address's throttling, gives back the global token
// allow took, and returns the address's pending summary, if any.
func (t *throttle) succeeded(addr string, now time.Time) []summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.global.refill(now, globalBurst, globalEvery)
	t.global.tokens = math.Min(globalBurst, t.global.tokens+1)
	a, ok := t.addrs[addr]
	if !ok {
		return nil
	}
	delete(t.addrs, addr)
	if s, ok := a.pending(addr, now); ok {
		return []summary{s}
	}
	return nil
}

// flush returns every pending summary (the console is stopping).
func (t *throttle) flush(now time.Time) []summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []summary
	for addr, a := range t.addrs {
		if s, ok := a.pending(addr, now); ok {
			out = append(out, s)
		}
		a.window, a.more = time.Time{}, 0
	}
	return out
}

// count opens an audit window (and reports that this attempt is to be
// audited) or counts the attempt in the open one.
func (a *addrState) count(now time.Time) bool {
	if a.window.IsZero() {
		a.window = now
		return true
	}
	a.more++
	return false
}

func (a *addrState) pending(addr string, now time.Time) (summary, bool) {
	if a.window.IsZero() || a.more == 0 {
		return summary{}, false
	}
	return summary{addr: addr, from: a.window, to: now, count: a.more}, true
}

// state returns addr's state, making room for it if need be.
func (t *throttle) state(addr string, now time.Time, done *[]summary) *addrState {
	if t.addrs == nil {
		t.addrs = map[string]*addrState{}
	}
	a, ok := t.addrs[addr]
	if !ok {
		if len(t.addrs) >= maxAddrs {
			t.evict(now, done)
		}
		a = &addrState{}
		t.addrs[addr] = a
	}
	a.seen = now
	return a
}

// evict forgets the least recently seen tenth of the addresses, writing
// their pending summaries first.
func (t *throttle) evict(now time.Time, done *[]summary) {
	type seen struct {
		addr string
		at   time.Time
	}
	all := make([]seen, 0, len(t.addrs))
	for addr, a := range t.addrs {
		all = append(all, seen{addr, a.seen})
	}
	sort.Slice(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, s := range all[:max(1, len(all)/10)] {
		if p, ok := t.addrs[s.addr].pending(s.addr, now); ok {
			*done = append(*done, p)
		}
		delete(t.addrs, s.addr)
	}
}

// sweep ends the audit windows that are over (returning their summaries)
// and forgets addresses whose bucket is full again and whose window is
// closed.
func (t *throttle) sweep(now time.Time) []summary {
	t.swept = now
	var out []summary
	for addr, a := range t.addrs {
		if !a.window.IsZero() && now.Sub(a.window) >= auditWindow {
			if s, ok := a.pending(addr, now); ok {
				out = append(out, s)
			}
			a.window, a.more = time.Time{}, 0
		}
		a.bucket.refill(now, perAddrBurst, perAddrEvery)
		if a.window.IsZero() && a.bucket.tokens >= perAddrBurst {
			delete(t.addrs, addr)
		}
	}
	return out
}

// sweepNow ends the audit windows that are over; for the console's
// background loop.
func (t *throttle) sweepNow(now time.Time) []summary {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sweep(now)
}
