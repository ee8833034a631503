package rotator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// Session is a browser session on an account's own profile.
type Session interface {
	// Run runs one flow of the template. It returns a
	// *browser.ChallengeError, a *browser.StepError, or nil.
	Run(ctx context.Context, flow string, vals browser.Values) error
	// TryLogout runs the logout flow with short deadlines and ignores its
	// failure: to start a sign-in from a signed-out state.
	TryLogout(ctx context.Context)
	// Rejected reports whether the page shows one of the template's
	// rejections of a new password.
	Rejected(ctx context.Context) (bool, error)
	Close() error
}

// Opener opens sessions.
type Opener interface {
	Open(ctx context.Context, acct store.Account, tpl *templates.Template, hooks Hooks) (Session, error)
}

// Hooks are what a session reports to, and where.
type Hooks struct {
	// ArtifactDir receives the run's screenshots and failure reports.
	ArtifactDir string
	OnStep      func(browser.StepReport)
	// OnChallenge holds a challenge for an operator (see
	// browser.Runner.OnChallenge).
	OnChallenge func(context.Context, *browser.ChallengeError) error
}

// BrowserState keeps an account's browser state (cookies, site storage)
// between runs, encrypted: the vault.
type BrowserState interface {
	Cookies(ctx context.Context, name string) ([]byte, error)
	SetCookies(ctx context.Context, name string, state []byte) error
}

// BrowserOpener opens sessions in the system Chromium.
type BrowserOpener struct {
	// Chromium is the browser the sessions share, each in a browser
	// context of its own (nil: each session launches a Chromium of its
	// own, with Bin, User, Headful, Logger and Sandbox).
	Chromium *browser.Chromium
	// Bin is the Chromium binary (empty: looked up on PATH).
	Bin string
	// User is who Chromium runs as when rotator is root (empty:
	// a uid of each Chromium's own).
	User string
	// State keeps each account's browser state in the vault between runs
	// (nil: every run starts with none, and nothing is kept).
	State   BrowserState
	Headful bool
	// Logger and Sandbox: see browser.Options.
	Logger  *slog.Logger
	Sandbox *browser.Sandbox
}

// Open opens a session in a fresh browser context with the account's or
// the template's proxy, loads the account's saved browser state, and opens
// a page with the template's user agent and viewport.
func (o BrowserOpener) Open(ctx context.Context, acct store.Account, tpl *templates.Template, hooks Hooks) (Session, error) {
	proxy := acct.Proxy
	if proxy == "" {
		proxy = tpl.Proxy
	}
	var b *browser.Browser
	var err error
	if o.Chromium != nil {
		b, err = o.Chromium.NewSession(ctx, browser.SessionOptions{Proxy: proxy})
	} else {
		b, err = browser.Launch(ctx, browser.Options{Bin: o.Bin, User: o.User, Headful: o.Headful, Proxy: proxy,
			Logger: o.Logger, Sandbox: o.Sandbox})
	}
	if err != nil {
		return nil, err
	}
	po := browser.PageOptions{UserAgent: tpl.UserAgent}
	if tpl.Viewport != nil {
		po.Width, po.Height = tpl.Viewport.Width, tpl.Viewport.Height
	}
	page, err := b.NewPage(ctx, po)
	if err != nil {
		b.Close()
		return nil, err
	}
	s := &browserSession{b: b, page: page, tpl: tpl, base: acct.SiteURL, hooks: hooks, account: acct.Name, state: o.State,
		runCtx: context.WithoutCancel(ctx)}
	if o.State != nil {
		saved, err := o.State.Cookies(ctx, acct.Name)
		if err == nil {
			err = b.LoadState(ctx, page, saved)
		}
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("load the browser state of %s: %w", acct.Name, err)
		}
		s.signOutFirst = len(saved) > 0
	}
	// Last: an Open that failed has nothing of it left running.
	s.watchCrash()
	return s, nil
}

type browserSession struct {
	b       *browser.Browser
	page    *rod.Page
	tpl     *templates.Template
	base    string
	hooks   Hooks
	account string
	state   BrowserState
	// runCtx carries the run's lease, which fences the state's save.
	runCtx context.Context
	// typed are the passwords the session's flows were given.
	typed     []secret.String
	crashedCh chan struct{} // closed when the page crashed
	stopWatch context.CancelFunc
	// signOutFirst is set while the state loaded from the vault may hold
	// a live session: a site that sends a signed-in browser from its
	// sign-in page to its home would hide the form the login flow fills.
	signOutFirst bool
}

// runner runs a flow of tpl with vals. Its artifacts are scrubbed of every
// password this session has typed, not only this flow's: a page may still
// show an earlier one.
func (s *browserSession) runner(tpl *templates.Template, vals browser.Values) *browser.Runner {
	for _, pw := range []secret.String{vals.Password, vals.NewPassword} {
		if !pw.IsZero() && !slices.ContainsFunc(s.typed, pw.Equal) {
			s.typed = append(s.typed, pw)
		}
	}
	return &browser.Runner{Template: tpl, BaseURL: s.base, Page: s.page, Values: vals, ArtifactDir: s.hooks.ArtifactDir,
		OnStep: s.hooks.OnStep, OnChallenge: s.hooks.OnChallenge, Secrets: slices.Clone(s.typed), Lost: s.Lost}
}

// watchCrash notes when the session's page crashes (its renderer died).
func (s *browserSession) watchCrash() {
	ctx, cancel := context.WithCancel(s.runCtx)
	s.stopWatch = cancel
	s.crashedCh = make(chan struct{})
	wait := s.page.Context(ctx).EachEvent(func(*proto.InspectorTargetCrashed) bool {
		close(s.crashedCh)
		return true
	})
	go wait()
}

// errPageCrashed ends a flow whose page crashed: a crashed page's calls
// get no answer, and would each wait out their deadline.
var errPageCrashed = errors.New(pageCrashed)

// untilCrash is ctx, also ended when the session's page crashes.
func (s *browserSession) untilCrash(ctx context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	go func() {
		select {
		case <-s.crashedCh:
			cancel(errPageCrashed)
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// Lost says why the session's page is gone (its renderer crashed, or the
// browser exited), or "" while it lives: what its flows did then says
// nothing of the site.
func (s *browserSession) Lost() string {
	if s.b.Died() {
		return browserExited
	}
	select {
	case <-s.crashedCh:
		return pageCrashed
	default:
		return ""
	}
}

// Why a session's page is lost (Lost).
const (
	browserExited = "the browser exited"
	pageCrashed   = "the page crashed"
)

// Page is the session's page, for an operator's live view.
func (s *browserSession) Page() *rod.Page { return s.page }

func (s *browserSession) Run(ctx context.Context, flow string, vals browser.Values) error {
	ctx, cancel := s.untilCrash(ctx)
	defer cancel()
	if flow == templates.FlowLogin && s.signOutFirst {
		s.signOutFirst = false
		s.TryLogout(ctx)
	}
	return s.runner(s.tpl, vals).RunFlow(ctx, flow)
}

func (s *browserSession) TryLogout(ctx context.Context) {
	if s.tpl.Flows.Logout == nil {
		return
	}
	// Probing a password needs a signed-out browser: a session cookie
	// left in the profile by an earlier (killed) run would otherwise let a
	// wrong password look right, or hide the sign-in form. From the site's
	// root, the logout flow finds its link when signed in and fails fast
	// when not.
	base := s.base
	if base == "" {
		base = s.tpl.BaseURL
	}
	nctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	if url, err := browser.PageURL(s.page.Context(nctx)); err == nil && (url == "about:blank" || url == "") {
		if s.page.Context(nctx).Navigate(base) == nil {
			s.page.Context(nctx).WaitLoad()
		}
	}
	cancel()
	quick := *s.tpl
	quick.Timeouts = templates.Timeouts{Step: time.Second, Run: 10 * time.Second}
	r := s.runner(&quick, browser.Values{})
	r.OnStep, r.ArtifactDir, r.OnChallenge = nil, "", nil
	_ = r.RunFlow(ctx, templates.FlowLogout)
}

func (s *browserSession) Rejected(ctx context.Context) (bool, error) {
	if len(s.tpl.Rejections) == 0 {
		return false, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	return browser.MatchesAny(s.page.Context(ctx), s.tpl.Rejections)
}

// Close saves the account's browser state to the vault (a "trust this
// browser" cookie is what lets the next run through unattended), then ends
// the browser, which leaves nothing of the site on disk.
func (s *browserSession) Close() error {
	var saveErr error
	if s.state != nil && !s.b.Died() {
		ctx, cancel := context.WithTimeout(s.runCtx, 10*time.Second)
		st, err := s.b.SaveState(ctx, s.page, s.origins())
		if err == nil {
			err = s.state.SetCookies(ctx, s.account, st)
		}
		cancel()
		if err != nil {
			saveErr = fmt.Errorf("save the browser state of %s: %w", s.account, err)
		}
	}
	s.stopWatch()
	return errors.Join(saveErr, s.b.Close())
}

// origins are the site's origins, whose local storage is kept.
func (s *browserSession) origins() []string {
	return []string{s.base, s.tpl.BaseURL}
}
