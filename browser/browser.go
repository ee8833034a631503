// Package browser runs the system Chromium (Debian's /usr/bin/chromium)
// through go-rod for rotator's templates.
//
// # Guarantees
//
//   - go-rod never downloads a browser: the binary is always given
//     explicitly, found on the system, or the launch fails saying so.
//   - DevTools is spoken over a pipe (--remote-debugging-pipe, file
//     descriptors 3 and 4), never a TCP port: nothing of the browser
//     listens on any socket another local user could reach.
//   - No helper binary: Chromium and its children live in their own
//     process group, get a parent-death signal, and are killed as a group
//     on every exit path. rotator takes no fixed port and runs nothing from
//     a shared folder.
//   - Chromium never runs as root. When rotator is root, Chromium runs as an
//     unprivileged user (Options.User; by default a uid of each Chromium's
//     own, shared with no other process) on a profile that
//     user owns, so it cannot read the vault or the master key. It keeps
//     Chromium's sandbox where the kernel allows one and says once in the
//     log when it does not.
//   - Chromium gets a minimal environment, not rotator's.
//   - One Chromium serves many sessions ([Chromium]); every session
//     browses in a fresh in-memory browser context of its own, disposed of
//     at its end: no cookie, cache or site storage is written to disk or
//     seen by another session. An account's state travels through
//     [Browser.LoadState] and [Browser.SaveState], which the caller keeps
//     encrypted in the vault.
//   - Downloads are denied.
//   - Chromium starts headless with background networking, component
//     updates and first-run pages turned off, so it makes no connections of
//     its own.
//   - Product code uses only go-rod's error-returning calls; every wait has a
//     deadline from its context.
package browser

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/cdp"
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

// Session uids: when rotator runs as root and no browser.user is set, each
// browser runs as a uid of its own, unused by any account or process, from
// this range (within the uids this user namespace maps), so that no other
// process, nor another account's browser, shares it: none can read its
// memory, signal it, or write its profile.
const (
	sessionUIDLow  = 1_000_000_000
	sessionUIDHigh = 2_000_000_000
)

// Options configure a browser.
type Options struct {
	// Bin is the Chromium binary; empty means look it up (FindChromium).
	Bin string
	// Headful shows a window (for debugging on a desktop).
	Headful bool
	// LaunchTimeout bounds the start of the browser (default 30 s).
	LaunchTimeout time.Duration
	// Proxy is a proxy URL for all of the session's traffic (empty:
	// none), for Launch; a shared Chromium takes one per session
	// (SessionOptions). It may not carry credentials: rotator keeps no
	// secret in a proxy's configuration.
	Proxy string
	// IdleTimeout is how long a shared Chromium with no session keeps
	// running (0: DefaultIdleTimeout; below 0: until closed).
	IdleTimeout time.Duration
	// User is who Chromium runs as when rotator runs as root; empty: a uid
	// of the session's own (see sessionUIDLow). It must not be root.
	// Ignored when rotator is not root: Chromium then runs as rotator's own
	// user.
	User string
	// Logger receives the notice that Chromium runs without its sandbox.
	Logger *slog.Logger
	// Sandbox remembers, across launches, whether the kernel gives
	// Chromium a sandbox (nil: each launch finds out alone).
	Sandbox *Sandbox
}

// Sandbox is what launches learned about Chromium's sandbox on this
// machine: whether it is usable, and whether that was said in the log.
// The zero value is ready to use; share one across launches.
type Sandbox struct {
	mu       sync.Mutex
	disabled bool
	told     bool
}

func (s *Sandbox) off() bool {
	if s == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.disabled
}

// disable records that the sandbox is unusable and logs why, once.
func (s *Sandbox) disable(log *slog.Logger, why string) {
	tell := true
	if s != nil {
		s.mu.Lock()
		s.disabled = true
		tell = !s.told
		s.told = true
		s.mu.Unlock()
	}
	if tell && log != nil {
		log.Warn("chromium runs without its sandbox: the kernel gives this user none (enable unprivileged user namespaces, or install Chromium's setuid sandbox, to get it back)", "reason", why)
	}
}

// instance is one running Chromium.
type instance struct {
	root    *rod.Browser
	proc    *process
	tempDir string
	// profileLock is held while the browser lives (see sweepProfiles).
	profileLock *os.File
	// sessionUID is the uid of its own that Chromium runs as (0: none):
	// every process left with it is Chromium's, and is killed at the end,
	// also one that left the process group (Chromium's crash handler
	// starts a session of its own).
	sessionUID uint32

	mu sync.Mutex
	ua string // see userAgent
}

// startInstance starts Chromium with opts, without its sandbox when the
// kernel gives none.
func startInstance(ctx context.Context, opts Options) (*instance, error) {
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

	cred, err := browserUser(opts.User)
	if err != nil {
		return nil, err
	}
	noSandbox := opts.Sandbox.off()
	for {
		in, err := launch(ctx, bin, opts, cred, noSandbox)
		if err == nil {
			return in, nil
		}
		var se *sandboxError
		if !noSandbox && errors.As(err, &se) {
			opts.Sandbox.disable(opts.Logger, se.detail)
			noSandbox = true
			continue
		}
		return nil, err
	}
}

// sandboxError is a launch that failed because Chromium found no usable
// sandbox.
type sandboxError struct{ detail string }

func (e *sandboxError) Error() string { return "chromium has no usable sandbox: " + e.detail }

func launch(ctx context.Context, bin string, opts Options, cred *syscall.Credential, noSandbox bool) (*instance, error) {
	parent := profileParent(cred)
	sweepProfiles(parent)
	dir, lock, err := newProfile(parent)
	if err != nil {
		return nil, err
	}
	b := &instance{tempDir: dir, profileLock: lock}
	if cred != nil && opts.User == "" {
		b.sessionUID = cred.Uid
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			b.cleanup()
			return nil, fmt.Errorf("give the browser profile to uid %d: %w", cred.Uid, err)
		}
	}
	args := chromiumArgs(dir, opts, noSandbox)
	p, err := startProcess(bin, args, chromiumEnv(dir, opts.Headful), cred)
	if err != nil {
		b.cleanup()
		return nil, fmt.Errorf("launch chromium %s: %w", bin, err)
	}
	b.proc = p

	// The connection outlives this call, so it must not end with ctx; the
	// launch deadline still bounds the connect.
	client := cdp.New().Start(p.conn)
	rb := rod.New().Client(client).Context(context.WithoutCancel(ctx))
	connected := make(chan error, 1)
	go func() { connected <- rb.Connect() }()
	select {
	case err = <-connected:
	case <-p.exited:
		err = errors.New("chromium exited")
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err == nil {
		b.root = rb.Context(context.Background())
		err = b.setup(ctx)
	}
	if err != nil {
		b.cleanup()
		out := p.stderr.String()
		if strings.Contains(out, "No usable sandbox") {
			return nil, &sandboxError{detail: firstLineWith(out, "No usable sandbox")}
		}
		if tail := strings.TrimSpace(out); tail != "" {
			return nil, fmt.Errorf("connect to chromium %s: %w; it said: %s", bin, err, tail)
		}
		return nil, fmt.Errorf("connect to chromium %s: %w", bin, err)
	}
	return b, nil
}

// setup denies downloads in the default browser context (no page is ever
// opened there; each session's context denies them too).
func (b *instance) setup(ctx context.Context) error {
	root := b.root.Context(ctx)
	if err := (proto.BrowserSetDownloadBehavior{Behavior: proto.BrowserSetDownloadBehaviorBehaviorDeny}).Call(root); err != nil {
		return fmt.Errorf("deny downloads: %w", err)
	}
	return nil
}

func chromiumArgs(dir string, opts Options, noSandbox bool) []string {
	args := []string{
		"--remote-debugging-pipe",
		"--user-data-dir=" + dir,
		"--disk-cache-dir=" + dir + "/cache",
		"--disable-background-networking",
		"--disable-component-update",
		"--no-first-run",
		"--disable-sync",
		"--disable-gpu",
		// Nor a software GPU: the GPU process keeps to compositing
		// (screenshots and the live view still work), 15 MB less.
		"--disable-software-rasterizer",
		"--disable-quic",
		"--disable-extensions",
		"--disable-breakpad",
		"--disable-crash-reporter",
		"--no-default-browser-check",
		"--no-service-autorun",
		"--no-pings",
		"--disable-domain-reliability",
		"--password-store=basic",
		"--use-mock-keychain",
		"--allow-browser-signin=false",
		"--disable-features=site-per-process,TranslateUI,Translate,NetworkTimeServiceQuerying,OptimizationHints,MediaRouter,DialMediaRouteProvider,CertificateTransparencyComponentUpdater,AutofillServerCommunication,InterestFeedContentSuggestions,CalculateNativeWinOcclusion,HeavyAdPrivacyMitigations,PrivacySandboxSettings4," +
			// The omnibox popups (WebUI pages made for every window, so for
			// every session's context) and the spare renderer would each
			// take a renderer process of their own per session: one
			// renderer per session is left (measured: 3 to 1). No flow
			// goes back to a page it left: none is kept in memory for it.
			"WebUIOmniboxPopup,WebUIOmniboxFullPopup,WebUIOmniboxAimPopup,SpareRendererForSitePerProcess,BackForwardCache",
	}
	if !opts.Headful {
		args = append(args, "--headless")
	}
	if noSandbox {
		args = append(args, "--no-sandbox")
	}
	// No startup tab: every page is opened in the session's own browser
	// context, and an idle tab in the default one keeps a renderer busy
	// drawing frames for the browser's whole life. Without it a launch,
	// one page, two loads and a close cost 1.6 CPU-s instead of 3.1
	// (measured on 2 cores from /proc/stat).
	return append(args, "--no-startup-window")
}

// chromiumEnv is all Chromium gets of an environment: a fixed PATH, a home
// and a temporary folder in its own profile, and the locale and time zone.
func chromiumEnv(dir string, headful bool) []string {
	env := []string{
		"PATH=/usr/local/bin:/usr/bin:/bin",
		"HOME=" + dir,
		"XDG_CONFIG_HOME=" + dir + "/.config",
		"XDG_CACHE_HOME=" + dir + "/.cache",
		// Its temporary files (a singleton socket's folder) go into the
		// profile, removed with it, not into /tmp for good.
		"TMPDIR=" + dir,
	}
	keep := []string{"LANG", "LC_ALL", "TZ"}
	if headful {
		keep = append(keep, "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "XDG_RUNTIME_DIR")
	}
	for _, k := range keep {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// checkProxy refuses a proxy URL with credentials: Chromium's command line
// is readable by every local user.
func checkProxy(proxy string) error {
	scheme, rest, ok := strings.Cut(proxy, "://")
	if !ok {
		rest = scheme
	}
	host, _, _ := strings.Cut(rest, "/")
	if strings.Contains(host, "@") {
		return errors.New("the proxy URL carries credentials, which rotator refuses: use a proxy that authorises this host instead")
	}
	return nil
}

// browserUser returns who Chromium runs as: nil (rotator's own user) unless
// rotator is root; then the named user, or a uid of the session's own.
func browserUser(name string) (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	if name == "" {
		uid, err := sessionUID()
		if err != nil {
			return nil, err
		}
		return &syscall.Credential{Uid: uid, Gid: uid, Groups: []uint32{}}, nil
	}
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("browser user %q (Chromium never runs as root; set browser.user to an unprivileged user, or leave it empty for a uid of each Chromium's own): %w", name, err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("browser user %q: ids %s:%s are not numbers", name, u.Uid, u.Gid)
	}
	if uid == 0 {
		return nil, fmt.Errorf("browser user %q is root: Chromium never runs as root; set browser.user to an unprivileged user", name)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// sessionUID picks a uid for one browser session: in the session range and
// mapped in this user namespace, with no account (passwd entry) and no
// running process.
func sessionUID() (uint32, error) {
	lo, hi := uint64(sessionUIDLow), uint64(sessionUIDHigh)
	if data, err := os.ReadFile("/proc/self/uid_map"); err == nil {
		// The range must lie within one mapped extent; take the widest
		// overlap.
		best := uint64(0)
		blo, bhi := lo, lo
		for line := range strings.Lines(string(data)) {
			f := strings.Fields(line)
			if len(f) != 3 {
				continue
			}
			in, err1 := strconv.ParseUint(f[0], 10, 64)
			n, err2 := strconv.ParseUint(f[2], 10, 64)
			if err1 != nil || err2 != nil {
				continue
			}
			a, b := max(in, lo), min(in+n, hi)
			if b > a && b-a > best {
				best, blo, bhi = b-a, a, b
			}
		}
		if best < 1000 {
			return 0, fmt.Errorf("no free uid for the browser: this user namespace maps none in %d-%d; set browser.user to an unprivileged user of Chromium's own", lo, hi)
		}
		lo, hi = blo, bhi
	}
	used := uidsInUse()
	for range 64 {
		uid := lo + uint64(randUint32())%(hi-lo)
		if used[uint32(uid)] {
			continue
		}
		if _, err := user.LookupId(strconv.FormatUint(uid, 10)); err == nil {
			continue
		}
		return uint32(uid), nil
	}
	return 0, errors.New("no free uid for the browser after 64 tries; set browser.user")
}

// processUIDs reads the real and effective uids of every running process.
func processUIDs() map[int][]uint32 {
	out := map[int][]uint32{}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		data, err := os.ReadFile("/proc/" + e.Name() + "/status")
		if err != nil {
			continue
		}
		for line := range strings.Lines(string(data)) {
			if f := strings.Fields(line); len(f) >= 3 && f[0] == "Uid:" {
				for _, v := range f[1:3] {
					if n, err := strconv.ParseUint(v, 10, 32); err == nil {
						out[pid] = append(out[pid], uint32(n))
					}
				}
			}
		}
	}
	return out
}

// uidsInUse are the uids of the running processes.
func uidsInUse() map[uint32]bool {
	used := map[uint32]bool{}
	for _, uids := range processUIDs() {
		for _, u := range uids {
			used[u] = true
		}
	}
	return used
}

// killUID kills every process running as uid.
func killUID(uid uint32) {
	for pid, uids := range processUIDs() {
		if slices.Contains(uids, uid) {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func randUint32() uint32 {
	var b [4]byte
	rand.Read(b[:])
	return binary.LittleEndian.Uint32(b[:])
}

// profileParent is the folder a browser profile is made in: the temp
// folder, unless Chromium runs as another user who cannot reach it (a
// private TMPDIR), then /tmp.
func profileParent(cred *syscall.Credential) string {
	tmp := os.TempDir()
	if cred == nil || searchable(tmp) {
		return tmp
	}
	return "/tmp"
}

// searchable says whether every folder on the way to dir can be passed by
// any user.
func searchable(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

func firstLineWith(s, sub string) string {
	for line := range strings.Lines(s) {
		if strings.Contains(line, sub) {
			return strings.TrimSpace(line)
		}
	}
	return sub
}

// process is a running Chromium and the pipe DevTools speaks over.
type process struct {
	cmd    *exec.Cmd
	conn   *pipeConn
	stderr *tailBuffer
	exited chan struct{}
}

// startProcess starts Chromium in its own process group, with a parent-death
// signal, as cred (nil: this process's user), speaking DevTools on file
// descriptors 3 (commands to it) and 4 (its answers).
func startProcess(bin string, args, env []string, cred *syscall.Credential) (*process, error) {
	// Chromium reads commands from fd 3 and writes to fd 4.
	cmdR, cmdW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("devtools pipe: %w", err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		cmdR.Close()
		cmdW.Close()
		return nil, fmt.Errorf("devtools pipe: %w", err)
	}
	p := &process{stderr: &tailBuffer{max: 8 << 10}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Dir = "/"
	p.cmd.Stdin = nil
	p.cmd.Stdout = p.stderr
	p.cmd.Stderr = p.stderr
	p.cmd.ExtraFiles = []*os.File{cmdR, outW}
	// A child that keeps Chromium's output open must not hold Wait.
	p.cmd.WaitDelay = 2 * time.Second
	p.cmd.SysProcAttr = &syscall.SysProcAttr{
		Setpgid:    true,
		Pdeathsig:  syscall.SIGKILL,
		Credential: cred,
	}
	err = p.cmd.Start()
	// The child holds its own copies of its ends.
	cmdR.Close()
	outW.Close()
	if err != nil {
		cmdW.Close()
		outR.Close()
		return nil, err
	}
	p.conn = &pipeConn{w: cmdW, r: bufio.NewReaderSize(outR, 1<<20), rc: outR}
	go func() {
		p.cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// kill ends the whole process group and waits for the browser process.
func (p *process) kill() {
	pid := p.cmd.Process.Pid
	syscall.Kill(-pid, syscall.SIGKILL)
	<-p.exited
	// Children that left the group's leader behind are in the group too.
	syscall.Kill(-pid, syscall.SIGKILL)
}

// pipeConn carries DevTools messages over Chromium's pipe: JSON, each ended
// by a NUL byte. It has the shape rod's cdp client takes as a transport.
type pipeConn struct {
	// broken is set once reading failed: the browser is gone, even if
	// its process is not yet reaped.
	broken atomic.Bool
	mu     sync.Mutex
	w      *os.File
	r      *bufio.Reader
	rc     *os.File
}

var _ cdp.WebSocketable = (*pipeConn)(nil)

// Send writes one message. Once reading failed it fails: a message
// written then, into a pipe a dying browser still holds, would wait for an
// answer that never comes (rod fails the calls waiting when reading fails,
// not those sent after).
func (c *pipeConn) Send(msg []byte) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.broken.Load() {
		return fmt.Errorf("chromium's pipe: %w", os.ErrClosed)
	}
	buf := make([]byte, 0, len(msg)+1)
	buf = append(append(buf, msg...), 0)
	_, err := c.w.Write(buf)
	return err
}

// Read returns the next message.
func (c *pipeConn) Read() ([]byte, error) {
	msg, err := c.r.ReadBytes(0)
	if err != nil {
		c.broken.Store(true)
		return nil, err
	}
	return msg[:len(msg)-1], nil
}

func (c *pipeConn) close() {
	c.w.Close()
	c.rc.Close()
}

// tailBuffer keeps the last max bytes written to it: Chromium's output, for
// the reason of a failed launch.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = bytes.Clone(t.buf[len(t.buf)-t.max:])
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// callTimeout bounds one DevTools call that waits on no page state
// (opening a page, closing the browser).
const callTimeout = 30 * time.Second

// close stops the browser, kills what is left of its process group, and
// removes its profile.
func (b *instance) close() error {
	var err error
	if b.root != nil && b.proc != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		err = b.root.Context(ctx).Close()
		cancel()
		// Chromium exits by itself after Browser.close; one that does not
		// is killed.
		select {
		case <-b.proc.exited:
		case <-time.After(5 * time.Second):
		}
		if errors.Is(err, context.DeadlineExceeded) || isPipeClosed(err) {
			err = nil // it went away while answering
		}
	}
	b.cleanup()
	return err
}

// userAgent is the browser's own user agent with "HeadlessChrome" said as
// "Chrome", asked once.
func (b *instance) userAgent(ctx context.Context) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ua == "" {
		v, err := b.root.Context(ctx).Version()
		if err != nil {
			return "", fmt.Errorf("browser version: %w", err)
		}
		b.ua = strings.ReplaceAll(v.UserAgent, "HeadlessChrome", "Chrome")
	}
	return b.ua, nil
}

// kill ends the browser's processes at once; cleanup, later, removes its
// profile.
func (b *instance) kill() {
	b.proc.kill()
	if b.sessionUID != 0 {
		killUID(b.sessionUID)
	}
}

// alive says whether the browser process runs and speaks.
func (b *instance) alive() bool {
	select {
	case <-b.proc.exited:
		return false
	default:
		return !b.proc.conn.broken.Load()
	}
}

func isPipeClosed(err error) bool {
	return err != nil && (errors.Is(err, os.ErrClosed) || errors.Is(err, syscall.EPIPE) || strings.Contains(err.Error(), "EOF"))
}

func (b *instance) cleanup() {
	if b.proc != nil {
		b.proc.kill()
		b.proc.conn.close()
	}
	if b.sessionUID != 0 {
		killUID(b.sessionUID)
	}
	if b.tempDir != "" {
		os.RemoveAll(b.tempDir)
	}
	if b.profileLock != nil {
		os.Remove(b.tempDir + ".lock")
		b.profileLock.Close()
		b.profileLock = nil
	}
}

// profilePrefix names the browser profiles rotator makes in the temp
// folder.
const profilePrefix = "rotator-chromium-"

// newProfile makes a browser profile folder in parent and its lock, which
// is held while the browser lives and tells a later launch's sweepProfiles
// whether a profile left behind (its rotator killed) is stale. The lock is
// made and taken under a name the sweep ignores, then renamed beside the
// folder: a sweep running at the same time in another process never finds
// it there unheld.
func newProfile(parent string) (dir string, lock *os.File, err error) {
	dir, err = os.MkdirTemp(parent, profilePrefix)
	if err != nil {
		return "", nil, fmt.Errorf("create browser profile: %w", err)
	}
	lock, err = os.OpenFile(dir+".locking", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err == nil {
		if err = syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err == nil {
			err = os.Rename(lock.Name(), dir+".lock")
		}
		if err != nil {
			os.Remove(lock.Name())
			lock.Close()
		}
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, fmt.Errorf("lock the browser profile: %w", err)
	}
	return dir, lock, nil
}

// sweepProfiles removes the profiles in parent that a killed rotator left
// behind: each has a lock file of this user's beside it, which nobody holds
// any more. (They hold no site data, which never leaves memory, but they
// pile up.) A ".locking" file is a lock newProfile had not yet put in
// place: it is stale only once it is older than any launch takes to do so.
func sweepProfiles(parent string) {
	entries, err := os.ReadDir(parent)
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		profile, locking := strings.CutSuffix(name, ".locking")
		if !locking {
			var ok bool
			if profile, ok = strings.CutSuffix(name, ".lock"); !ok {
				continue
			}
		}
		if !strings.HasPrefix(name, profilePrefix) || !e.Type().IsRegular() {
			continue
		}
		lockPath := filepath.Join(parent, name)
		f, err := os.OpenFile(lockPath, os.O_RDWR|syscall.O_NOFOLLOW, 0)
		if err != nil {
			continue
		}
		if !staleLock(f, locking) {
			f.Close()
			continue // another user's, or a live browser's
		}
		os.RemoveAll(filepath.Join(parent, profile))
		os.Remove(lockPath)
		f.Close()
	}
}

// staleLock says whether an open profile lock file is this user's and
// nobody holds it (and, for a ".locking" one, it is over a minute old); it
// leaves it locked when it is.
func staleLock(f *os.File, locking bool) bool {
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok || int(st.Uid) != os.Geteuid() || (locking && time.Since(fi.ModTime()) < time.Minute) {
		return false
	}
	return syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil
}

// PageOptions set how a page presents itself.
type PageOptions struct {
	// UserAgent overrides the browser's; empty: Chromium's own with
	// "HeadlessChrome" said as "Chrome", the same on every run.
	UserAgent string
	// Viewport defaults to 1280x800.
	Width, Height int
}

// NewPage opens a blank page in the session's browser context, with a
// stable user agent and viewport.
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
		var err error
		if ua, err = b.inst.userAgent(ctx); err != nil {
			return nil, err
		}
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

// PID is the browser process's id; its process group has the same id.
func (b *Browser) PID() int { return b.inst.proc.cmd.Process.Pid }
