package browser

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/input"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/templates"
)

// A live view relays a page to a person: its frames out, their input in.
// Chromium's DevTools endpoint itself is never exposed (it gives whoever
// reaches it the whole browser); only these two narrow channels are.

// Frame is one picture of the page.
type Frame struct {
	// JPEG is the encoded picture.
	JPEG []byte
	// Width and Height are the page's size in CSS pixels: input
	// coordinates are in that space.
	Width, Height float64
}

// Screencast sends the page's frames to send until ctx ends or send fails.
// Chromium sends a frame whenever the page repaints (up to its frame
// rate), so a page that changes is seen at once and a still page costs
// nothing. The first frame is a screenshot, so a still page shows too.
func Screencast(ctx context.Context, page *rod.Page, quality int, send func(Frame) error) error {
	p := page.Context(ctx)
	// Each DevTools call has a deadline of its own: a hung page ends the
	// live view instead of holding it open.
	call := func() (*rod.Page, context.CancelFunc) {
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		return page.Context(cctx), cancel
	}
	// The first picture: a still page sends no screencast frames.
	cp, cancel := call()
	vp, err := viewport(cp)
	q := quality
	var shot *proto.PageCaptureScreenshotResult
	if err == nil {
		shot, err = proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatJpeg, Quality: &q}.Call(cp)
	}
	cancel()
	if err != nil {
		return fmt.Errorf("first frame: %w", err)
	}
	if err := send(Frame{JPEG: shot.Data, Width: vp.Width, Height: vp.Height}); err != nil {
		return err
	}

	frames := make(chan *proto.PageScreencastFrame, 2)
	wait := p.EachEvent(func(e *proto.PageScreencastFrame) {
		select {
		case frames <- e:
		case <-ctx.Done():
		}
	})
	go wait()
	every := 1
	cp, cancel = call()
	err = proto.PageStartScreencast{Format: proto.PageStartScreencastFormatJpeg, Quality: &q, EveryNthFrame: &every}.Call(cp)
	cancel()
	if err != nil {
		return fmt.Errorf("start the screencast: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = proto.PageStopScreencast{}.Call(page.Context(sctx))
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-frames:
			// Chromium sends the next frame only after this one is
			// acknowledged: a slow viewer slows the stream down
			// instead of queueing frames.
			cp, cancel := call()
			err := proto.PageScreencastFrameAck{SessionID: e.SessionID}.Call(cp)
			cancel()
			// A page between two documents may refuse an ack; only a
			// browser that stopped answering ends the view.
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return fmt.Errorf("acknowledge a frame: %w", err)
			}
			f := Frame{JPEG: e.Data}
			if m := e.Metadata; m != nil {
				f.Width, f.Height = m.DeviceWidth, m.DeviceHeight
			}
			if err := send(f); err != nil {
				return err
			}
		}
	}
}

type size struct{ Width, Height float64 }

func viewport(p *rod.Page) (size, error) {
	m, err := proto.PageGetLayoutMetrics{}.Call(p)
	if err != nil {
		return size{}, fmt.Errorf("page size: %w", err)
	}
	if v := m.CSSLayoutViewport; v != nil {
		return size{float64(v.ClientWidth), float64(v.ClientHeight)}, nil
	}
	return size{float64(m.LayoutViewport.ClientWidth), float64(m.LayoutViewport.ClientHeight)}, nil
}

// Input is one thing a person did in the live view, in the page's CSS
// pixels.
type Input struct {
	// Type is mousedown, mouseup, mousemove, wheel, key or text.
	Type string  `json:"type"`
	X    float64 `json:"x,omitempty"`
	Y    float64 `json:"y,omitempty"`
	// Button is 0 (left), 1 (middle) or 2 (right), as in DOM events.
	Button int `json:"button,omitempty"`
	// Clicks is the click count (2 for a double click).
	Clicks int     `json:"clicks,omitempty"`
	DX     float64 `json:"dx,omitempty"`
	DY     float64 `json:"dy,omitempty"`
	// Key is a DOM key name for keys that do not type text (Enter,
	// Backspace, Tab, arrows...).
	Key string `json:"key,omitempty"`
	// Text is typed or pasted text.
	Text string `json:"text,omitempty"`
}

// keys are the non-text keys the live view forwards, by DOM key name.
var keys = map[string]input.Key{
	"Enter": input.Enter, "Backspace": input.Backspace, "Tab": input.Tab, "Escape": input.Escape,
	"Delete": input.Delete, "Home": input.Home, "End": input.End, "PageUp": input.PageUp, "PageDown": input.PageDown,
	"ArrowLeft": input.ArrowLeft, "ArrowRight": input.ArrowRight, "ArrowUp": input.ArrowUp, "ArrowDown": input.ArrowDown,
	" ": input.Space,
}

var buttons = []proto.InputMouseButton{proto.InputMouseButtonLeft, proto.InputMouseButtonMiddle, proto.InputMouseButtonRight}

// ErrBadInput is an input event the live view does not forward.
var ErrBadInput = errors.New("unsupported input")

// Dispatch plays one input event on the page.
func Dispatch(ctx context.Context, page *rod.Page, in Input) error {
	p := page.Context(ctx)
	mouse := func(t proto.InputDispatchMouseEventType) error {
		b := proto.InputMouseButtonNone
		if t == proto.InputDispatchMouseEventTypeMousePressed || t == proto.InputDispatchMouseEventTypeMouseReleased {
			if in.Button < 0 || in.Button >= len(buttons) {
				return fmt.Errorf("%w: mouse button %d", ErrBadInput, in.Button)
			}
			b = buttons[in.Button]
		}
		clicks := in.Clicks
		if clicks <= 0 && b != proto.InputMouseButtonNone {
			clicks = 1
		}
		return proto.InputDispatchMouseEvent{Type: t, X: in.X, Y: in.Y, Button: b, ClickCount: clicks,
			DeltaX: in.DX, DeltaY: in.DY}.Call(p)
	}
	switch in.Type {
	case "mousedown":
		return mouse(proto.InputDispatchMouseEventTypeMousePressed)
	case "mouseup":
		return mouse(proto.InputDispatchMouseEventTypeMouseReleased)
	case "mousemove":
		return mouse(proto.InputDispatchMouseEventTypeMouseMoved)
	case "wheel":
		return mouse(proto.InputDispatchMouseEventTypeMouseWheel)
	case "text":
		if in.Text == "" || len(in.Text) > 4096 {
			return fmt.Errorf("%w: text of %d bytes", ErrBadInput, len(in.Text))
		}
		return proto.InputInsertText{Text: in.Text}.Call(p)
	case "key":
		k, ok := keys[in.Key]
		if !ok {
			return fmt.Errorf("%w: key %q", ErrBadInput, in.Key)
		}
		return typeKey(p, k)
	}
	return fmt.Errorf("%w: %q", ErrBadInput, in.Type)
}

// DetectChallenge reports the challenge the page shows, if any.
func DetectChallenge(ctx context.Context, page *rod.Page, tpl *templates.Template) (*ChallengeError, error) {
	return detectChallenge(page.Context(ctx), tpl)
}
