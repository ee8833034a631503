package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/cdp"
	"github.com/go-rod/rod/lib/proto"

	"github.com/rotator-pam/rotator/internal/weburl"
	"github.com/rotator-pam/rotator/templates"
)

// waitElement waits for sel until ctx ends.
func waitElement(ctx context.Context, page *rod.Page, sel *templates.Selector, visible bool) (*rod.Element, *templates.Alternative, error) {
	f, err := waitFound(ctx, page, sel, visible)
	return f.el, f.alt, err
}

// waitFound waits for sel until ctx ends, and returns the element with the
// page of the frame that holds it. It looks again each time the page
// changes (changes), not on a clock.
func waitFound(ctx context.Context, page *rod.Page, sel *templates.Selector, visible bool) (found, error) {
	// Why a chain did not reach further, as last seen: the try the
	// deadline cut short says nothing.
	note := ""
	ch := &changes{page: page}
	defer ch.stop()
	for {
		f, why, err := locate(page, sel, visible)
		if err != nil && ctx.Err() == nil {
			return found{}, err
		}
		if f.el != nil {
			return f, nil
		}
		if why != "" {
			note = why
		}
		if !ch.next(ctx) {
			what := "matches"
			if visible {
				what = "is visible for"
			}
			if note != "" {
				note = " (" + note + ")"
			}
			return found{}, fmt.Errorf("no element %s %s within the step's deadline%s", what, sel.String(), note)
		}
	}
}

// checkCondition evaluates a condition once.
func checkCondition(page *rod.Page, c templates.Condition) (bool, error) {
	switch c.Kind {
	case templates.CondExists:
		el, _, err := findOnce(page, c.Selector)
		return el != nil, err
	case templates.CondVisible:
		el, _, err := visibleOnce(page, c.Selector)
		return el != nil, err
	case templates.CondHidden:
		el, _, err := visibleOnce(page, c.Selector)
		return el == nil, err
	case templates.CondURL, templates.CondURLRe:
		info, err := targetInfo(page)
		if err != nil {
			return false, err
		}
		if c.Kind == templates.CondURL {
			return strings.Contains(info.URL, c.Pattern), nil
		}
		return c.Regexp.MatchString(info.URL), nil
	case templates.CondText:
		text, err := visibleText(page)
		if err != nil {
			return false, err
		}
		return strings.Contains(strings.ToLower(text), strings.ToLower(c.Pattern)), nil
	}
	return false, fmt.Errorf("unknown condition %q", c.Kind)
}

// waitCondition waits for a condition to hold until ctx ends, looking
// again each time the page changes (changes); it stops at once when
// failed sees the site say the step failed.
func waitCondition(ctx context.Context, page *rod.Page, c templates.Condition, failed func(*rod.Page) (string, bool)) error {
	var last error
	ch := &changes{page: page}
	defer ch.stop()
	for {
		ok, err := checkCondition(page, c)
		if err == nil && ok {
			return nil
		}
		if failed != nil {
			if what, bad := failed(page); bad {
				return fmt.Errorf("%s: %s", c.String(), what)
			}
		}
		if err != nil {
			if gone(err) {
				return fmt.Errorf("%s: %w", c.String(), err)
			}
			last = err
		}
		if !ch.next(ctx) {
			return conditionTimeout(page, c, last)
		}
	}
}

// conditionTimeout is the error of a condition that did not hold within
// the step's deadline; last is the last error checking it met.
func conditionTimeout(page *rod.Page, c templates.Condition, last error) error {
	msg := "not met"
	if c.Kind == templates.CondURL || c.Kind == templates.CondURLRe {
		ictx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if info, err := targetInfo(page.Context(ictx)); err == nil {
			msg = "the page is at " + weburl.Shown(info.URL, false)
		}
		cancel()
	}
	if last != nil && !errors.Is(last, context.DeadlineExceeded) && !errors.Is(last, context.Canceled) {
		msg += ": " + last.Error()
	}
	return fmt.Errorf("%s: %s within the step's deadline", c.String(), msg)
}

// gone says whether err means the page can answer no more: the browser
// exited, or the page's renderer crashed or its target closed. Waiting on
// for the deadline would change nothing.
func gone(err error) bool {
	if errors.Is(err, syscall.EPIPE) || errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) ||
		errors.Is(err, cdp.ErrSessionNotFound) {
		return true
	}
	var ce *cdp.Error
	if errors.As(err, &ce) {
		m := ce.Message
		return strings.Contains(m, "Target crashed") || strings.Contains(m, "No target with given id") || strings.Contains(m, "Target closed")
	}
	return false
}

// targetInfo is page.Info bound to the page's context: rod's asks the
// browser with the browser's context, which has no deadline, so a browser
// that stops answering would hold the call for good.
func targetInfo(page *rod.Page) (*proto.TargetTargetInfo, error) {
	res, err := proto.TargetGetTargetInfo{TargetID: page.TargetID}.Call(page.Browser().Context(page.GetContext()))
	if err != nil {
		return nil, err
	}
	return res.TargetInfo, nil
}

// PageURL is the URL of page's target, within page's context.
func PageURL(page *rod.Page) (string, error) {
	info, err := targetInfo(page)
	if err != nil {
		return "", err
	}
	return info.URL, nil
}
