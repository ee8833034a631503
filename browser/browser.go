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
	"os"
	"os/exec"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/launcher"
)

// Candidates are the names looked up on PATH when no binary is configured,
// in order.
var candidates = []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}

// ErrNoChromium means no Chromium binary was found.
var ErrNoChromium = errors.New("no Chromium found: install Debian's package (apt-get install -y chromium) or set the browser binary path")

// FindChromium returns bin if set, else the first Chromium on PATH.
func FindChromium(bin string) (string, error) {
	if bin != "" {
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("chromium binary %s: %w", bin, err)
		}
		return bin, nil
	}
	for _, name := range candidates {
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
}

// Browser is a running Chromium.
type Browser struct {
	rod      *rod.Browser
	launcher *launcher.Launcher
	tempDir  string
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
		Set("remote-debugging-address", "127.0.0.1")
	if os.Geteuid() == 0 {
		l = l.NoSandbox(true)
	}
	b.launcher = l
	u, err := l.Launch()
	if err != nil {
		b.cleanup()
		return nil, fmt.Errorf("launch chromium %s: %w", bin, err)
	}
	rb := rod.New().ControlURL(u).Context(context.WithoutCancel(ctx))
	if err := rb.Connect(); err != nil {
		b.cleanup()
		return nil, fmt.Errorf("connect to chromium: %w", err)
	}
	b.rod = rb.Context(context.Background())
	return b, nil
}

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
		err = b.rod.Close()
	}
	b.cleanup()
	return err
}

func (b *Browser) cleanup() {
	if b.launcher != nil {
		b.launcher.Kill()
		// Kill does not wait; Cleanup waits for the process and removes the
		// launcher's own profile (ours is removed below).
		b.launcher.Cleanup()
	}
	if b.tempDir != "" {
		os.RemoveAll(b.tempDir)
	}
}
