package rotator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// BenchmarkFacebookFlow puts a rotation on the demo site's Facebook skin
// next to a minimal go-rod program doing the same clicks (issue 15):
//
//	go test ./rotator -run xxx -bench FacebookFlow -benchtime 20x
//
// Each iteration runs one of each, in turns (the order alternates, so a
// drift of the machine's load falls on both), and the benchmark reports the
// median seconds of each and their ratio, rotation over minimal. The ratio
// is rotator's cost over the page work itself: the engine's waits and
// checks, the vault, and however env.rot gets its browser (a Chromium of its
// own per rotation, or a context in a shared one).
func BenchmarkFacebookFlow(b *testing.B) {
	site := demosite.New(demosite.Options{ChangesPerDay: 1 << 20})
	if err := site.SetLayout("facebook"); err != nil {
		b.Fatal(err)
	}
	env := newEnvWith(b, b.TempDir(), site)
	ctx := context.Background()
	const rotated = "bench-rotation"
	env.addOn("facebook", demosite.UserSpec{Name: rotated, Password: "Bench-pass-1234"})
	if err := env.store.SetLimit(ctx, rotated, store.Limit{Max: 1 << 20, Override: true}); err != nil {
		b.Fatal(err)
	}
	tpl, diags := templates.Find("facebook", "")
	if tpl == nil {
		b.Fatal(diags.Err())
	}
	m := &minimalFlow{base: env.srv.URL, user: "bench-minimal", password: "Minimal-pass-0000",
		userAgent: tpl.UserAgent, width: tpl.Viewport.Width, height: tpl.Viewport.Height}
	if err := site.AddUser(demosite.UserSpec{Name: m.user, Password: m.password}); err != nil {
		b.Fatal(err)
	}
	br, err := browser.Launch(ctx, browser.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer br.Close()

	runMinimal := func(i int) time.Duration {
		next := fmt.Sprintf("Minimal-pass-%04d", i+1)
		fctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		start := time.Now()
		err := m.rotate(fctx, br.Rod(), next)
		took := time.Since(start)
		if st, _ := site.User(m.user); err != nil || st.Password != next {
			b.Errorf("minimal flow %d: %v (the site's password is the new one: %t)", i+1, err, st.Password == next)
		}
		return took
	}
	runRotation := func(i int) time.Duration {
		rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		defer cancel()
		start := time.Now()
		res, err := env.rot.Rotate(rctx, rotated)
		took := time.Since(start)
		if err != nil || res.Outcome != rotation.Succeeded {
			b.Errorf("rotation %d: %s %s %v", i+1, res.Outcome, res.Reason, err)
		}
		return took
	}

	var minimal, rotations []time.Duration
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			minimal = append(minimal, runMinimal(i))
			rotations = append(rotations, runRotation(i))
		} else {
			rotations = append(rotations, runRotation(i))
			minimal = append(minimal, runMinimal(i))
		}
	}
	mm, mr := median(minimal), median(rotations)
	b.ReportMetric(mm.Seconds(), "s/minimal")
	b.ReportMetric(mr.Seconds(), "s/rotation")
	b.ReportMetric(mr.Seconds()/mm.Seconds(), "ratio")
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// minimalFlow is what a plain go-rod program would do to change a password
// on the Facebook skin: the page work of a rotation there (rotate.go,
// attempt.go, session.go and templates/facebook.yaml), and nothing else.
// That is, in a fresh browser context: the page with the template's user
// agent and viewport; the cookies the last run left, as the vault's
// browser state does, and so, when they hold a session, a sign-out from
// the site's root first (browserSession.signOutFirst); a sign-in with the
// current password; the change; a sign-out; a sign-in with the new
// password; the cookies kept for the next run. Every wait is for what the
// template's step waits for, with no sleep and no settling time.
type minimalFlow struct {
	base, user, password string
	userAgent            string
	width, height        int
	cookies              []*proto.NetworkCookie
}

// rotate changes the user's password to next, in a browser context of its
// own in the browser of root.
func (m *minimalFlow) rotate(ctx context.Context, root *rod.Browser, next string) error {
	bc, err := root.Context(ctx).Incognito()
	if err != nil {
		return fmt.Errorf("create browser context: %w", err)
	}
	defer bc.Close()
	if len(m.cookies) > 0 {
		if err := bc.SetCookies(cookieParams(m.cookies)); err != nil {
			return fmt.Errorf("load cookies: %w", err)
		}
	}
	page, err := bc.Page(proto.TargetCreateTarget{})
	if err != nil {
		return fmt.Errorf("open page: %w", err)
	}
	if err := page.SetUserAgent(&proto.NetworkSetUserAgentOverride{UserAgent: m.userAgent}); err != nil {
		return fmt.Errorf("set user agent: %w", err)
	}
	if err := page.SetViewport(&proto.EmulationSetDeviceMetricsOverride{Width: m.width, Height: m.height, DeviceScaleFactor: 1}); err != nil {
		return fmt.Errorf("set viewport: %w", err)
	}
	if err := m.steps(page, next); err != nil {
		return err
	}
	if m.cookies, err = bc.GetCookies(); err != nil {
		return fmt.Errorf("save cookies: %w", err)
	}
	m.password = next
	return nil
}

// steps is the page work of one rotation on page.
func (m *minimalFlow) steps(page *rod.Page, next string) error {
	if len(m.cookies) > 0 {
		if err := goTo(page, m.base+"/"); err != nil {
			return err
		}
		if err := signOut(page); err != nil {
			return fmt.Errorf("sign out first: %w", err)
		}
	}
	if err := m.signIn(page, m.password); err != nil {
		return fmt.Errorf("sign in: %w", err)
	}
	if err := m.change(page, m.password, next); err != nil {
		return fmt.Errorf("change: %w", err)
	}
	if err := signOut(page); err != nil {
		return fmt.Errorf("sign out: %w", err)
	}
	if err := m.signIn(page, next); err != nil {
		return fmt.Errorf("sign in with the new password: %w", err)
	}
	return nil
}

func (m *minimalFlow) signIn(page *rod.Page, password string) error {
	if err := goTo(page, m.base+"/"); err != nil {
		return err
	}
	if _, err := visible(page, "input[name=email]"); err != nil {
		return err
	}
	if err := input(page, "input[name=email]", m.user); err != nil {
		return err
	}
	if err := input(page, "input[name=pass]", password); err != nil {
		return err
	}
	if err := clickAndWait(page, "input[type=submit][name=login]", ""); err != nil {
		return err
	}
	info, err := page.Info()
	if err != nil {
		return err
	}
	if !strings.Contains(info.URL, "/home.php") {
		return fmt.Errorf("signed in at %s, want /home.php", info.URL)
	}
	return nil
}

func (m *minimalFlow) change(page *rod.Page, old, next string) error {
	if err := goTo(page, m.base+"/settings/account/?password"); err != nil {
		return err
	}
	if _, err := visible(page, "input[name=old_password]"); err != nil {
		return err
	}
	for _, f := range [][2]string{{"old_password", old}, {"new_password", next}, {"confirm_password", next}} {
		if err := input(page, "input[name="+f[0]+"]", f[1]); err != nil {
			return err
		}
	}
	if err := clickAndWait(page, "input[type=submit][name=save]", ""); err != nil {
		return err
	}
	_, err := visible(page, "#password_changed")
	return err
}

func signOut(page *rod.Page) error {
	if err := clickAndWait(page, "a", "Sair"); err != nil {
		return err
	}
	_, err := visible(page, "input[name=email]")
	return err
}

func goTo(page *rod.Page, url string) error {
	if err := page.Navigate(url); err != nil {
		return fmt.Errorf("open %s: %w", url, err)
	}
	if err := page.WaitLoad(); err != nil {
		return fmt.Errorf("load %s: %w", url, err)
	}
	return nil
}

// visible waits for an element of sel to be visible.
func visible(page *rod.Page, sel string) (*rod.Element, error) {
	el, err := page.Element(sel)
	if err == nil {
		err = el.WaitVisible()
	}
	if err != nil {
		return nil, fmt.Errorf("wait for %s: %w", sel, err)
	}
	return el, nil
}

func input(page *rod.Page, sel, text string) error {
	el, err := page.Element(sel)
	if err == nil {
		err = el.Input(text)
	}
	if err != nil {
		return fmt.Errorf("type into %s: %w", sel, err)
	}
	return nil
}

// clickAndWait clicks the element of sel (whose text matches text, when
// set) and waits for the page it leads to to load.
func clickAndWait(page *rod.Page, sel, text string) error {
	var el *rod.Element
	var err error
	if text != "" {
		el, err = page.ElementR(sel, text)
	} else {
		el, err = page.Element(sel)
	}
	if err != nil {
		return fmt.Errorf("find %s: %w", sel, err)
	}
	wait := page.WaitNavigation(proto.PageLifecycleEventNameLoad)
	if err := el.Click(proto.InputMouseButtonLeft, 1); err != nil {
		return fmt.Errorf("click %s: %w", sel, err)
	}
	wait()
	return page.WaitLoad()
}

// cookieParams are cookies to set again, as browser.LoadState sets them: a
// session cookie without an expiry.
func cookieParams(cs []*proto.NetworkCookie) []*proto.NetworkCookieParam {
	ps := proto.CookiesToParams(cs)
	for i, c := range cs {
		if c.Session {
			ps[i].Expires = 0
		}
	}
	return ps
}
