package browser

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// ErrClosed is a session asked of a closed Chromium.
var ErrClosed = errors.New("the browser is closed")

// DefaultIdleTimeout is how long a shared Chromium with no session is
// kept running.
const DefaultIdleTimeout = 2 * time.Minute

// Chromium is one Chromium process shared by sessions: each session
// ([Chromium.NewSession]) browses in a browser context of its own, in
// memory, which it disposes of at its end. Two sessions never see each
// other's cookies, cache or site storage, and a page that crashes takes
// only its own renderer down.
//
// Chromium starts with the first session. One that died (a crash, the OOM
// killer) ends the sessions that were in it, whose calls then fail, and
// the next session starts a new one. With no session for IdleTimeout it
// is stopped. Close it when done.
type Chromium struct {
	opts Options
	// gate is held while a Chromium starts or stops, so that sessions
	// wait for it with their deadline.
	gate chan struct{}

	mu       sync.Mutex
	inst     *instance
	sessions int
	idle     *time.Timer
	closed   bool
}

// NewChromium returns a Chromium that starts with opts at its first
// session. opts.Proxy is ignored: each session sets its own.
func NewChromium(opts Options) *Chromium {
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = DefaultIdleTimeout
	}
	return &Chromium{opts: opts, gate: make(chan struct{}, 1)}
}

// SessionOptions configure one session.
type SessionOptions struct {
	// Proxy is a proxy URL for all of the session's traffic (empty:
	// none). It may not carry credentials.
	Proxy string
}

// NewSession opens a session in a fresh browser context, starting
// Chromium when none runs. Close the session when done.
func (c *Chromium) NewSession(ctx context.Context, so SessionOptions) (*Browser, error) {
	if so.Proxy != "" {
		if err := checkProxy(so.Proxy); err != nil {
			return nil, err
		}
	}
	in, err := c.running(ctx)
	if err != nil {
		return nil, err
	}
	b, err := in.newContext(ctx, so)
	if err != nil {
		c.done()
		if !in.alive() {
			return nil, fmt.Errorf("%w (chromium exited)", err)
		}
		return nil, err
	}
	b.c = c
	return b, nil
}

// running returns the running Chromium, started when none runs or the
// last one died, and counts a session in it.
func (c *Chromium) running(ctx context.Context) (*instance, error) {
	select {
	case c.gate <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for the browser to start: %w", ctx.Err())
	}
	defer func() { <-c.gate }()
	c.mu.Lock()
	in, closed := c.inst, c.closed
	c.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	if in != nil && !in.alive() {
		in.cleanup() // reaps it: its exit status is read after
		if c.opts.Logger != nil {
			// Not its output: once pages ran it may quote them (a URL a
			// form sent by GET made, with what was typed in it).
			c.opts.Logger.Warn("chromium exited; a new one starts for the next session", "pid", in.proc.cmd.Process.Pid,
				"exit", in.proc.cmd.ProcessState.String())
		}
		in = nil
	}
	if in == nil {
		var err error
		if in, err = startInstance(ctx, c.opts); err != nil {
			return nil, err
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.inst = in
	c.sessions++
	if c.idle != nil {
		c.idle.Stop()
		c.idle = nil
	}
	return in, nil
}

// done counts a session's end, and stops Chromium once none is left for
// IdleTimeout.
func (c *Chromium) done() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sessions--
	if c.sessions > 0 || c.closed || c.opts.IdleTimeout < 0 {
		return
	}
	if c.idle != nil {
		c.idle.Stop()
	}
	c.idle = time.AfterFunc(c.opts.IdleTimeout, c.stopIdle)
}

// stopIdle stops Chromium if still no session is open.
func (c *Chromium) stopIdle() {
	c.gate <- struct{}{}
	defer func() { <-c.gate }()
	c.mu.Lock()
	in := c.inst
	if c.sessions > 0 || in == nil {
		c.mu.Unlock()
		return
	}
	c.inst = nil
	c.mu.Unlock()
	in.close()
}

// Options are the options Chromium starts with.
func (c *Chromium) Options() Options { return c.opts }

// PID is the running browser process's id (0: none runs); its process
// group has the same id.
func (c *Chromium) PID() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inst == nil || !c.inst.alive() {
		return 0
	}
	return c.inst.proc.cmd.Process.Pid
}

// Close stops Chromium, which ends every session still open, kills what
// is left of its process group and removes its profile.
func (c *Chromium) Close() error {
	c.gate <- struct{}{}
	defer func() { <-c.gate }()
	c.mu.Lock()
	in := c.inst
	c.inst, c.closed = nil, true
	if c.idle != nil {
		c.idle.Stop()
		c.idle = nil
	}
	c.mu.Unlock()
	if in == nil {
		return nil
	}
	return in.close()
}

// Browser is one session: a browser context of its own in a Chromium.
type Browser struct {
	// root drives the whole browser; rod drives this session's context.
	root *rod.Browser
	rod  *rod.Browser
	inst *instance
	c    *Chromium
	// own is set when Launch started c for this session alone.
	own  bool
	once sync.Once
	// states is rod's cache for this session (ownStates), emptied at
	// Close.
	states *sync.Map
}

// newContext makes a browser context for one session, with its proxy, in
// which downloads are denied.
func (in *instance) newContext(ctx context.Context, so SessionOptions) (*Browser, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	root := in.root.Context(ctx)
	res, err := proto.TargetCreateBrowserContext{DisposeOnDetach: true, ProxyServer: so.Proxy}.Call(root)
	if err != nil {
		return nil, fmt.Errorf("create browser context: %w", err)
	}
	if err := (proto.BrowserSetDownloadBehavior{Behavior: proto.BrowserSetDownloadBehaviorBehaviorDeny,
		BrowserContextID: res.BrowserContextID}).Call(root); err != nil {
		_ = proto.TargetDisposeBrowserContext{BrowserContextID: res.BrowserContextID}.Call(root)
		return nil, fmt.Errorf("deny downloads: %w", err)
	}
	b := &Browser{root: in.root, inst: in}
	rb := *in.root
	rb.BrowserContextID = res.BrowserContextID
	b.states = ownStates(&rb)
	b.rod = rb.Context(context.Background())
	return b, nil
}

// ownStates gives rb, a copy of a rod.Browser, a cache of its own for what
// rod keeps of each call (its pages, and the parameters of every method's
// last call: text typed, cookies set), which the copy would otherwise
// share with the browser it was copied from, for as long as that runs.
// rod exports no way to do it: the field is set by reflection, and
// TestClosedSessionLeavesNothingInRod fails if a rod upgrade moves it (nil
// then).
func ownStates(rb *rod.Browser) *sync.Map {
	f := reflect.ValueOf(rb).Elem().FieldByName("states")
	if !f.IsValid() || f.Type() != reflect.TypeFor[*sync.Map]() {
		return nil
	}
	m := &sync.Map{}
	reflect.NewAt(f.Type(), unsafe.Pointer(f.UnsafeAddr())).Elem().Set(reflect.ValueOf(m))
	return m
}

// Launch starts a Chromium of the session's own with opts and opens the
// session in it; closing the session stops that Chromium. Sessions that
// follow one another should share one Chromium (NewChromium) instead.
func Launch(ctx context.Context, opts Options) (*Browser, error) {
	if opts.Proxy != "" {
		if err := checkProxy(opts.Proxy); err != nil {
			return nil, err
		}
	}
	opts.IdleTimeout = -1
	c := NewChromium(opts)
	b, err := c.NewSession(ctx, SessionOptions{Proxy: opts.Proxy})
	if err != nil {
		c.Close()
		return nil, err
	}
	b.own = true
	return b, nil
}

// Rod returns the go-rod browser of this session's browser context, for the
// template engine.
func (b *Browser) Rod() *rod.Browser { return b.rod }

// Version returns the browser's product string, like "Chrome/156.0...".
func (b *Browser) Version(ctx context.Context) (string, error) {
	v, err := b.root.Context(ctx).Version()
	if err != nil {
		return "", fmt.Errorf("browser version: %w", err)
	}
	return v.Product, nil
}

// Close disposes of the session's browser context and its pages, which
// leaves nothing of them in the browser. A session of its own Chromium
// (Launch) stops it too.
func (b *Browser) Close() error {
	var err error
	b.once.Do(func() {
		if b.inst.alive() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			err = proto.TargetDisposeBrowserContext{BrowserContextID: b.rod.BrowserContextID}.Call(b.root.Context(ctx))
			cancel()
			if !b.inst.alive() || isPipeClosed(err) {
				err = nil // it went away while answering
			} else if err != nil {
				err = fmt.Errorf("close the browser context: %w", err)
				// A browser that cannot drop a context is not trusted
				// with the next: the next session starts a new one.
				b.inst.kill()
			}
		}
		if b.states != nil {
			b.states.Clear()
		}
		b.c.done()
		if b.own {
			err = errors.Join(err, b.c.Close())
		}
	})
	return err
}

// Died says whether the session's Chromium is no longer running.
func (b *Browser) Died() bool { return !b.inst.alive() }
