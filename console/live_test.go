package console

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/input"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/internal/demoacct"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

// opBrowser is a person's browser on the console, driven by rod.
type opBrowser struct {
	t    testing.TB
	e    *env
	base string // the console's URL
	page *rod.Page
}

func (e *env) operator(ctx context.Context) *opBrowser { return e.operatorAt(ctx, e.srv.URL) }

// operatorAt is an operator signed in to the console at base.
func (e *env) operatorAt(ctx context.Context, base string) *opBrowser {
	t := e.t
	t.Helper()
	b, err := browser.Launch(ctx, browser.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	p, err := b.NewPage(ctx, browser.PageOptions{Width: 1400, Height: 1100})
	if err != nil {
		t.Fatal(err)
	}
	o := &opBrowser{t: t, e: e, base: base, page: p.Timeout(2 * time.Minute)}
	o.do(func(p *rod.Page) {
		p.MustNavigate(base + "/login").MustWaitLoad()
		p.MustElement("#token").MustInput(e.token)
		p.MustElement("#name").MustSelectAllText().MustInput("olga")
		p.MustElement("#signin").MustClick()
		p.MustWaitElementsMoreThan("table#accounts", 0)
	})
	return o
}

func (o *opBrowser) do(f func(p *rod.Page)) {
	o.t.Helper()
	if err := rod.Try(func() { f(o.page) }); err != nil {
		o.t.Fatal(err)
	}
}

// openLive goes from the flags queue to the account's live view and waits
// for its first frame.
func (o *opBrowser) openLive(account string) {
	o.t.Helper()
	o.do(func(p *rod.Page) {
		p.MustNavigate(o.base + "/flags").MustWaitLoad()
		p.MustElement(`article[data-account="` + account + `"] a.open-live`).MustClick()
		p.MustWaitElementsMoreThan("#live[data-frames]", 0)
	})
}

func (o *opBrowser) frames() int {
	var n int
	o.do(func(p *rod.Page) {
		n = p.MustEval(`() => Number(document.getElementById("live").dataset.frames || 0)`).Int()
	})
	return n
}

// clickOn clicks, in the live view's picture, where sel is on the held
// page: the operator clicks what they see.
func (o *opBrowser) clickOn(h *rotator.Held, sel string) {
	o.t.Helper()
	var box *proto.DOMRect
	if err := rod.Try(func() { box = h.Page().Timeout(20 * time.Second).MustElement(sel).MustShape().Box() }); err != nil {
		o.t.Fatal(err)
	}
	o.do(func(p *rod.Page) {
		r := p.MustEval(`() => { const r = document.getElementById("screen").getBoundingClientRect();
			const d = document.getElementById("live").dataset; return [r.left, r.top, r.width, r.height, Number(d.w), Number(d.h)]; }`).Arr()
		left, top, w, hgt, pw, ph := r[0].Num(), r[1].Num(), r[2].Num(), r[3].Num(), r[4].Num(), r[5].Num()
		x := left + (box.X+box.Width/2)/pw*w
		y := top + (box.Y+box.Height/2)/ph*hgt
		p.Mouse.MustMoveTo(x, y)
		p.Mouse.MustClick(proto.InputMouseButtonLeft)
	})
}

// press presses "Resolved, continue" (or another button) and returns what
// the page says.
func (o *opBrowser) press(id string) string {
	var msg string
	o.do(func(p *rod.Page) {
		p.MustEval(`() => { document.getElementById("live-result").textContent = ""; }`)
		p.MustElement("#" + id).MustClick()
		p.MustWait(`() => document.getElementById("live-result").textContent !== ""`)
		msg = p.MustElement("#live-result").MustText()
	})
	return msg
}

func waitHeld(t testing.TB, hs *rotator.Holds, name string) *rotator.Held {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	h, err := hs.Wait(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// waitURL waits until the held page leaves a path.
func waitLeft(t testing.TB, h *rotator.Held, path string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		info, err := h.Page().Timeout(5 * time.Second).Info()
		if err == nil && !strings.HasSuffix(info.URL, path) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the held page is still at %s", path)
}

// screenshot saves the operator's view under $ROTATOR_DOCS_SCREENSHOTS, for
// the README.
func (o *opBrowser) screenshot(name string) {
	dir := os.Getenv("ROTATOR_DOCS_SCREENSHOTS")
	if dir == "" {
		return
	}
	o.do(func(p *rod.Page) {
		b := p.MustScreenshot()
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			panic(err)
		}
	})
}

// rotatedTo waits for the rotation done reports, and checks that it
// succeeded and that the site holds the vault's new password, not old.
func (e *env) rotatedTo(ctx context.Context, done chan rotator.Result, name, old string) rotator.Result {
	t := e.t
	t.Helper()
	var res rotator.Result
	select {
	case res = <-done:
	case <-ctx.Done():
		t.Fatal("the rotation did not finish")
	}
	if res.Outcome != rotation.Succeeded {
		t.Fatalf("outcome %s: %s", res.Outcome, res.Reason)
	}
	st, _ := e.site.User(name)
	pw, _ := e.store.Password(ctx, name)
	if st.Password != pw.Reveal() || st.Password == old {
		t.Fatal("the site's password is not the vault's new one")
	}
	return res
}

func rotate(e *env, ctx context.Context, name string) chan rotator.Result {
	done := make(chan rotator.Result, 1)
	go func() {
		res, err := e.rot.Rotate(ctx, name)
		if err != nil {
			e.t.Error(err)
		}
		done <- res
	}()
	return done
}

// TestLiveCaptcha is the operator's story: a rotation meets the demo
// CAPTCHA and pauses; the operator signs in to the console, opens the
// flag, ticks the box and types the word in the live view, and presses
// "Resolved, continue"; the rotation completes and the site holds the
// password the vault holds.
func TestLiveCaptcha(t *testing.T) {
	t.Parallel()
	needBrowser(t)
	e := newEnv(t, false)
	e.add(demosite.UserSpec{Name: "alice", Password: "Alice-pass-1234"})
	e.add(demosite.UserSpec{Name: "bob", Password: "Bob-pass-123456", TOTPSecret: "JBSWY3DPEHPK3PXP", TOTPPeriod: demoacct.ShortPeriod})
	e.add(demosite.UserSpec{Name: "dora", Password: "Dora-pass-12345", Captcha: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, name := range []string{"alice"} {
		if res, err := e.rot.Rotate(ctx, name); err != nil || res.Outcome != rotation.Succeeded {
			t.Fatalf("%s: %v %s", name, err, res.Reason)
		}
	}

	done := rotate(e, ctx, "dora")
	op := e.operator(ctx)
	// Every sign-in of dora's shows the CAPTCHA: the first sign-in and
	// the one that verifies the new password. Each is solved live.
	for round := 0; round < 2; round++ {
		h := waitHeld(t, e.rot.Holds, "dora")
		if a, _ := e.store.Account(ctx, "dora"); a.State != store.StatePaused {
			t.Fatalf("state while held: %s", a.State)
		}
		if round == 0 {
			op.do(func(p *rod.Page) {
				p.MustNavigate(e.srv.URL + "/").MustWaitLoad()
				row := p.MustElement(`tr[data-account="dora"]`).MustText()
				if !strings.Contains(row, "paused") || !strings.Contains(row, "open live view") {
					t.Errorf("accounts row of a held account: %q", row)
				}
			})
			op.screenshot("console-accounts.png")
			op.do(func(p *rod.Page) { p.MustNavigate(e.srv.URL + "/flags").MustWaitLoad() })
			op.screenshot("console-flags.png")
		}
		op.openLive("dora")
		if round == 0 {
			// The live view follows a page that keeps changing: frame
			// after frame comes. (How many a second is the machine's
			// business, measured by BenchmarkLiveFrames.)
			startTicking(h)
			const want = 3
			before := op.frames()
			for deadline := time.Now().Add(30 * time.Second); op.frames() < before+want && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			if got := op.frames() - before; got < want {
				t.Errorf("the live view did not follow a changing page: %d frames, want %d", got, want)
			}
			stopTicking(h)
			// "Resolved" before it is: refused, the page stays.
			if msg := op.press("resolve"); !strings.Contains(msg, "still shows the captcha") {
				t.Fatalf("resolve before solving: %q", msg)
			}
		}
		words := e.site.CaptchaWords("dora")
		if len(words) != 1 {
			t.Fatalf("CAPTCHAs in progress: %v", words)
		}
		before := op.frames()
		op.clickOn(h, "#human")
		// The tick shows in the live view: a new frame comes.
		for deadline := time.Now().Add(5 * time.Second); op.frames() == before && time.Now().Before(deadline); {
			time.Sleep(50 * time.Millisecond)
		}
		if op.frames() == before {
			t.Error("no frame after the operator ticked the box")
		}
		op.clickOn(h, "#captcha-word")
		// Type half of the word, paste the rest.
		w := words[0]
		op.do(func(p *rod.Page) {
			p.Keyboard.MustType([]input.Key(w[:3])...)
			p.MustEval(`(t) => { const dt = new DataTransfer(); dt.setData("text", t);
				document.getElementById("live").dispatchEvent(new ClipboardEvent("paste", {clipboardData: dt, bubbles: true})); }`, w[3:])
		})
		// What the operator typed reached the paused page.
		deadline := time.Now().Add(10 * time.Second)
		for h.Page().MustElement("#captcha-word").MustProperty("value").Str() != w && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if got := h.Page().MustElement("#captcha-word").MustProperty("value").Str(); got != w {
			t.Fatalf("the word field holds %q, want %q", got, w)
		}
		if round == 0 && os.Getenv("ROTATOR_DOCS_SCREENSHOTS") != "" {
			// A frame may have been on its way before the last
			// keystroke: the second one after it shows the word.
			before := op.frames()
			for deadline := time.Now().Add(10 * time.Second); op.frames() < before+2 && time.Now().Before(deadline); {
				time.Sleep(50 * time.Millisecond)
			}
			op.screenshot("console-live.png")
		}
		op.clickOn(h, "#captcha-submit")
		waitLeft(t, h, "/captcha")
		if msg := op.press("resolve"); !strings.Contains(msg, "resumed") {
			t.Fatalf("resolve: %q", msg)
		}
		<-h.Done()
	}
	e.rotatedTo(ctx, done, "dora", "Dora-pass-12345")

	// The pages show it.
	op.do(func(p *rod.Page) {
		p.MustNavigate(e.srv.URL + "/").MustWaitLoad()
		row := p.MustElement(`tr[data-account="dora"]`).MustText()
		if !strings.Contains(row, "active") || !strings.Contains(row, "succeeded") {
			t.Errorf("accounts row: %q", row)
		}
	})
	var runID int64
	op.do(func(p *rod.Page) {
		p.MustNavigate(e.srv.URL + "/accounts/dora").MustWaitLoad()
		p.MustElement(`a[href^="/runs/"]`).MustClick()
		p.MustWaitElementsMoreThan("table.timeline tbody tr", 5)
		text := p.MustElement("table.timeline").MustText()
		if !strings.Contains(text, "challenge resolved by an operator") {
			t.Errorf("the timeline does not show the resolution:\n%s", text)
		}
		runID = int64(p.MustEval(`() => Number(location.pathname.split("/")[2])`).Int())
		if p.MustElements(".shots img").First() == nil {
			t.Error("no screenshot on the run page")
		}
	})
	run, err := e.store.Run(ctx, runID)
	if err != nil || run.Outcome != "succeeded" {
		t.Fatalf("run %d: %v %s", runID, err, run.Outcome)
	}
	log, _ := e.store.AuditLog(ctx, "dora")
	var resumed, refused, opened int
	for _, ev := range log {
		if strings.HasPrefix(ev.Actor, "operator:olga@") {
			switch ev.Action + "/" + ev.Outcome {
			case "challenge.resolve/resumed":
				resumed++
			case "challenge.resolve/refused":
				refused++
			case "live.open/succeeded":
				opened++
			}
		}
	}
	if resumed != 2 || refused != 1 || opened != 2 {
		t.Errorf("audit: %d resumed, %d refused, %d live views", resumed, refused, opened)
	}
	e.checkNoToken()
}

// startTicking makes the held page change on every animation frame.
func startTicking(h *rotator.Held) {
	h.Page().MustEval(`() => { const d = document.createElement("div"); d.id = "tick"; document.body.prepend(d);
		window.__tick = true; let n = 0; (function f() { d.textContent = "tick " + n++; if (window.__tick) requestAnimationFrame(f); })(); }`)
}

func stopTicking(h *rotator.Held) {
	h.Page().MustEval(`() => { window.__tick = false; document.getElementById("tick").remove(); }`)
}

// BenchmarkLiveFrames measures the frames per second an operator's live
// view gets from a held page that changes on every animation frame.
func BenchmarkLiveFrames(b *testing.B) {
	needBrowser(b)
	e := newEnv(b, false)
	e.add(demosite.UserSpec{Name: "dora", Password: "Dora-pass-12345", Captcha: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	done := rotate(e, ctx, "dora")
	op := e.operator(ctx)
	h := waitHeld(b, e.rot.Holds, "dora")
	op.openLive("dora")
	startTicking(h)
	last := op.frames()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n := op.frames()
		for ; n == last; n = op.frames() {
			if ctx.Err() != nil {
				b.Fatal("no new frame")
			}
			time.Sleep(5 * time.Millisecond)
		}
		last = n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.StopTimer()
	cancel()
	<-done
}

// TestLiveTrustPrompt: the operator trusts the browser in the live view;
// the rotation completes, and the next one meets no prompt because the
// account's profile kept the site's cookie.
func TestLiveTrustPrompt(t *testing.T) {
	t.Parallel()
	needBrowser(t)
	e := newEnv(t, false)
	e.add(demosite.UserSpec{Name: "tess", Password: "Tess-pass-12345", TrustPrompt: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pauses := &pauseCount{}
	e.rot.Events = pauses
	done := rotate(e, ctx, "tess")
	op := e.operator(ctx)
	h := waitHeld(t, e.rot.Holds, "tess")
	if h.Challenge == nil || h.Challenge.Kind != "trust_browser" {
		t.Fatalf("held for %+v", h.Challenge)
	}
	op.openLive("tess")
	op.clickOn(h, "#trust-yes")
	waitLeft(t, h, "/trust")
	if msg := op.press("resolve"); !strings.Contains(msg, "resumed") {
		t.Fatalf("resolve: %q", msg)
	}
	res := <-done
	if res.Outcome != rotation.Succeeded || pauses.n.Load() != 1 {
		t.Fatalf("first rotation: %s (pauses told %d, want 1): %s", res.Outcome, pauses.n.Load(), res.Reason)
	}
	res, err := e.rot.Rotate(ctx, "tess")
	if err != nil || res.Outcome != rotation.Succeeded || pauses.n.Load() != 1 {
		t.Fatalf("second rotation: %v %s (pauses told %d, want still 1): %s", err, res.Outcome, pauses.n.Load(), res.Reason)
	}
	st, _ := e.site.User("tess")
	pw, _ := e.store.Password(ctx, "tess")
	if st.Password != pw.Reveal() || st.ChangesToday != 2 {
		t.Fatalf("site: %d changes; the vault's password is the site's: %v", st.ChangesToday, st.Password == pw.Reveal())
	}
}

// TestOpenSession: with no paused browser left, "Open a session" starts a
// browser on the account's profile at its site; the operator trusts the
// browser by hand and closes the session; the next rotation goes through
// unattended.
func TestOpenSession(t *testing.T) {
	t.Parallel()
	needBrowser(t)
	e := newEnv(t, false)
	e.add(demosite.UserSpec{Name: "tom", Password: "Tom-pass-123456", TrustPrompt: true})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	// Nobody answers: the browser closes and the account stays flagged.
	e.rot.Holds.Keep = time.Second
	res, err := e.rot.Rotate(ctx, "tom")
	if err != nil || res.Outcome != rotation.Paused {
		t.Fatalf("%v %s", err, res.Outcome)
	}
	if !strings.Contains(res.Reason, "Open a session") {
		t.Errorf("reason: %s", res.Reason)
	}
	e.rot.Holds.Keep = 3 * time.Minute

	op := e.operator(ctx)
	op.do(func(p *rod.Page) {
		p.MustNavigate(e.srv.URL + "/flags").MustWaitLoad()
		p.MustElement(`article[data-account="tom"] button[type=submit]`).MustClick() // Open a session
		p.MustWaitElementsMoreThan("#live[data-frames]", 0)
	})
	h := waitHeld(t, e.rot.Holds, "tom")
	if h.Kind != rotator.HeldSession {
		t.Fatalf("held kind %s", h.Kind)
	}
	// The operator signs in by hand in the live view.
	op.clickOn(h, "#username")
	op.do(func(p *rod.Page) { p.Keyboard.MustType([]input.Key("tom")...) })
	op.clickOn(h, "#password")
	op.do(func(p *rod.Page) {
		p.Keyboard.MustType([]input.Key("Tom-pass-123456")...)
		p.Keyboard.MustType(input.Enter)
	})
	waitLeft(t, h, "/login")
	op.clickOn(h, "#trust-yes")
	waitLeft(t, h, "/trust")
	if msg := op.press("resolve"); !strings.Contains(msg, "session closed") {
		t.Fatalf("close: %q", msg)
	}
	<-h.Done()
	// The flag is the operator's to clear.
	if a, _ := e.store.Account(ctx, "tom"); a.State != store.StatePaused {
		t.Fatalf("state after the session: %s", a.State)
	}
	if _, err := e.store.ClearFlag(ctx, "tom", "test"); err != nil {
		t.Fatal(err)
	}
	pauses := &pauseCount{}
	e.rot.Events = pauses
	res, err = e.rot.Rotate(ctx, "tom")
	if err != nil || res.Outcome != rotation.Succeeded || pauses.n.Load() != 0 {
		t.Fatalf("after the session: %v %s (%d pauses told): %s", err, res.Outcome, pauses.n.Load(), res.Reason)
	}
}

// pauseCount counts the pauses a rotator tells.
type pauseCount struct{ n atomic.Int32 }

func (p *pauseCount) Paused(rotator.Pause)      { p.n.Add(1) }
func (p *pauseCount) Finished(rotator.Finished) {}
