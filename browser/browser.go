// Package browser runs the system Chromium (Debian's /usr/bin/chromium)
// through go-rod for rotator's templates.
//
// # Guarantees
//
//   - go-rod never downloads a browser: the binary is always given
//     explicitly, found on the system, or the launch fails saying so.
//   - Chromium starts headless with background networking, component
//     updates and first-run pages turned off, so it makes no connections of
//     its own; as root it runs with --no-sandbox, which Chromium requires
//     there.
//   - The DevTools endpoint listens on loopback only and is never exposed.
//   - Product code uses only go-rod's error-returning calls; every wait has a
//     deadline from its context.
package browser

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"
	"github.com/go-rod/rod/lib/launcher/flags"
	"github.com/go-rod/rod/lib/proto"
)

// chromiumNames are the names looked up on PATH when no binary is configured,
// in order.
var chromiumNames = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}

// ErrNoChromium means no Chromium binary was found.
var ErrNoChromium = errors.New("no Chromium found on PATH (chromium, chromium-browser, google-chrome): install it with `apt-get install chromium`, or set browser.bin in the config")

// missingBinError is a configured Chromium binary that is not there: it is
// an ErrNoChromium (errors.Is), with the path and the reason.
type missingBinError struct {
	bin string
	err error
}

func (e *missingBinError) Error() string {
	why := e.err
	var pe *fs.PathError
	if errors.As(why, &pe) {
		why = pe.Err // the path is already named
	}
	return fmt.Sprintf("chromium binary %s: %v: install Chromium with `apt-get install chromium`, or fix browser.bin in the config", e.bin, why)
}
func (e *missingBinError) Unwrap() error        { return e.err }
func (e *missingBinError) Is(target error) bool { return target == ErrNoChromium }

// FindChromium returns bin if set, else the first Chromium on PATH. Either
// way, no Chromium is an ErrNoChromium.
func FindChromium(bin string) (string, error) {
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", &missingBinError{bin: bin, err: err}
		}
		return bin, nil
	}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Options configure a browser.
type Options struct {
	// Bin is the Chromium binary; empty means look it up (FindChromium).
	Bin string
	// UserDataDir is the profile directory. Empty means a fresh temporary
	// profile, removed on Close; an account's own profile keeps cookies
	// (a trusted-browser mark) between runs.
	UserDataDir string
	// Headful shows a window (for debugging on a desktop).
	Headful bool
	// LaunchTimeout bounds the start of the browser (default 30 s).
	LaunchTimeout time.Duration
	// Proxy is a proxy URL for all of the browser's traffic (empty: none).
	Proxy string
}

// ErrProfileInUse means another run holds the account's browser profile.
var ErrProfileInUse = errors.New("browser profile is in use by another run")

// Browser is a running Chromium.
type Browser struct {
	rod      *rod.Browser
	launcher *launcher.Launcher
	tempDir  string
	lock     *os.File
}

// Launch starts Chromium with opts. Close it when done.
func Launch(ctx context.Context, opts Options) (*Browser, error) {
	bin, err := FindChromium(opts.Bin)
	if err != nil {
		return nil, err
	}
	timeout := opts.LaunchTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	b := &Browser{}
	dir := opts.UserDataDir
	if dir == "" {
		if b.tempDir, err = os.MkdirTemp("", "rotator-profile-"); err != nil {
			return nil, fmt.Errorf("create browser profile: %w", err)
		}
		dir = b.tempDir
	} else {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("create browser profile: %w", err)
		}
		if b.lock, err = lockProfile(dir); err != nil {
			return nil, err
		}
	}
	l := launcher.New().
		Context(ctx).
		Bin(bin).
		UserDataDir(dir).
		Headless(!opts.Headful).
		Set("disable-background-networking").
		Set("disable-component-update").
		Set("no-first-run").
		Set("disable-sync").
		Set("disable-gpu").
		Set("disable-quic").
		Set("disable-extensions").
		Set("no-default-browser-check").
		Set("no-service-autorun").
		Set("no-pings").
		Set("disable-domain-reliability").
		Set("allow-browser-signin", "false").
		Set("disable-features", "site-per-process,TranslateUI,Translate,NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater,AutofillServerCommunication,InterestFeedContentSuggestions,CalculateNativeWinOcclusion,HeavyAdPrivacyMitigations,PrivacySandboxSettings4").
		Set("remote-debugging-address", "127.0.0.1").
		// A guard process kills Chromium when rotator dies, even by SIGKILL.
		Leakless(true)
	if os.Geteuid() == 0 {
		l = l.NoSandbox(true)
	}
	if opts.Proxy != "" {
		l = l.Proxy(opts.Proxy)
	}
	b.launcher = l
	u, err := l.Launch()
	if err != nil {
		b.cleanup()
		return nil, fmt.Errorf("launch chromium %s: %w", bin, err)
	}
	// The connection outlives this call, so it must not hang on ctx's
	// cancellation; the launch deadline still bounds the connect.
	rb := rod.New().ControlURL(u).Context(context.WithoutCancel(ctx))
	connected := make(chan error, 1)
	go func() { connected <- rb.Connect() }()
	select {
	case err := <-connected:
		if err != nil {
			b.cleanup()
			return nil, fmt.Errorf("connect to chromium: %w", err)
		}
	case <-ctx.Done():
		b.cleanup()
		return nil, fmt.Errorf("connect to chromium: %w", ctx.Err())
	}
	b.rod = rb.Context(context.Background())
	return b, nil
}

// callTimeout bounds one DevTools call that waits on no page state
// (opening a page, closing the browser).
const callTimeout = 30 * time.Second

// Rod returns the underlying go-rod browser, for the template engine.
func (b *Browser) Rod() *rod.Browser { return b.rod }

// Version returns the browser's product string, like "Chrome/156.0...".
func (b *Browser) Version(ctx context.Context) (string, error) {
	v, err := b.rod.Context(ctx).Version()
	if err != nil {
		return "", fmt.Errorf("browser version: %w", err)
	}
	return v.Product, nil
}

// Close stops the browser and removes a temporary profile.
func (b *Browser) Close() error {
	var err error
	if b.rod != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = b.rod.Context(ctx).Close()
		cancel()
	}
	b.cleanup()
	return err
}

func (b *Browser) cleanup() {
	if b.launcher != nil && b.launcher.PID() != 0 {
		// The launcher's Cleanup removes the user-data-dir it was given:
		// an account's profile must stay (its cookies are what makes the
		// site trust this browser next time), so it is not told of it.
		b.launcher.Delete(flags.UserDataDir)
		exited := make(chan struct{})
		go func() { b.launcher.Cleanup(); close(exited) }()
		// After Browser.close Chromium writes its cookies and exits by
		// itself; only one that does not is killed.
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			b.launcher.Kill()
			<-exited
		}
	}
	if b.tempDir != "" {
		os.RemoveAll(b.tempDir)
	}
	if b.lock != nil {
		b.lock.Close() // releases the flock
		b.lock = nil
	}
}

// lockProfile takes an exclusive lock on the profile, so two runs never
// share one; the lock goes with the process, also when it is killed.
func lockProfile(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "rotator.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock browser profile: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrProfileInUse, dir)
		}
		return nil, fmt.Errorf("lock browser profile: %w", err)
	}
	return f, nil
}

// PageOptions set how a page presents itself.
type PageOptions struct {
	// UserAgent overrides the browser's; empty: Chromium's own with
	// "HeadlessChrome" said as "Chrome", the same on every run.
	UserAgent string
	// Viewport defaults to 1280x800.
	Width, Height int
}

// NewPage opens a blank page with a stable user agent and viewport.
func (b *Browser) NewPage(ctx context.Context, opts PageOptions) (*rod.Page, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	// The page must not be bound to this call's context (rod keeps it),
	// so the deadline is kept here.
	type opened struct {
		page *rod.Page
		err  error
	}
	ch := make(chan opened, 1)
	go func() {
		p, err := b.rod.Page(proto.TargetCreateTarget{URL: "about:blank"})
		ch <- opened{p, err}
	}()
	var page *rod.Page
	select {
	case o := <-ch:
		if o.err != nil {
			return nil, fmt.Errorf("open page: %w", o.err)
		}
		page = o.page
	case <-ctx.Done():
		return nil, fmt.Errorf("open page: %w", ctx.Err())
	}
	setup := page.Context(ctx)
	ua := opts.UserAgent
	if ua == "" {
		v, err := b.rod.Context(ctx).Version()
		if err != nil {
			return nil, fmt.Errorf("browser version: %w", err)
		}
		ua = strings.ReplaceAll(v.UserAgent, "HeadlessChrome", "Chrome")
	}
	if err := setup.SetUserAgent(&proto.NetworkSetUserAgentOverride{UserAgent: ua}); err != nil {
		return nil, fmt.Errorf("set user agent: %w", err)
	}
	w, h := opts.Width, opts.Height
	if w == 0 || h == 0 {
		w, h = 1280, 800
	}
	if err := setup.SetViewport(&proto.EmulationSetDeviceMetricsOverride{Width: w, Height: h, DeviceScaleFactor: 1}); err != nil {
		return nil, fmt.Errorf("set viewport: %w", err)
	}
	// Every later call on the page sets its own deadline (the engine's
	// steps, artifacts, detectors).
	return page, nil
}

// PID is the browser process's id.
func (b *Browser) PID() int { return b.launcher.PID() }
