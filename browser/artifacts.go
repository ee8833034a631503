package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// safeName makes a file name from text that may come from a template:
// letters, digits, '.', '_' and '-' only.
func safeName(s string) string {
	s = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '_'
	}, s)
	s = strings.Trim(s, "._")
	if s == "" {
		s = "screenshot"
	}
	return truncate(s, 80)
}

// save writes a screenshot (data nil) or data to the artifact folder and
// returns its path, or "" when there is no folder or it failed.
func (r *Runner) save(page *rod.Page, name string, data []byte) string {
	if r.ArtifactDir == "" {
		return ""
	}
	if err := os.MkdirAll(r.ArtifactDir, 0o700); err != nil {
		r.logger().Warn("artifact folder", "err", err)
		return ""
	}
	if data == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		png, err := page.Context(ctx).Screenshot(false, &proto.PageCaptureScreenshot{Format: proto.PageCaptureScreenshotFormatPng})
		if err != nil {
			r.logger().Warn("screenshot", "err", err)
			return ""
		}
		data = png
	}
	p := filepath.Join(r.ArtifactDir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		r.logger().Warn("save artifact", "err", err)
		return ""
	}
	return p
}

// fail records a failed step: screenshot, HTML, URL, step and selector in
// the artifact folder, and the candidates the page offers.
func (r *Runner) fail(page *rod.Page, se *StepError) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	p := page.Context(ctx)
	if info, err := p.Info(); err == nil {
		se.URL = info.URL
	}
	if se.Step.Target != nil {
		se.Candidates = candidates(p, se.Step)
	}
	base := fmt.Sprintf("%s-step%s-failed", se.Flow, se.Path)
	if s := r.save(p, base+".png", nil); s != "" {
		se.Artifacts = append(se.Artifacts, s)
	}
	if html, err := p.HTML(); err == nil {
		if s := r.save(p, base+".html", []byte(html)); s != "" {
			se.Artifacts = append(se.Artifacts, s)
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "template: %s\nflow: %s\nstep: %s (%s)\n", se.Template, se.Flow, se.Path, se.Step.Describe())
	if se.File != "" {
		fmt.Fprintf(&b, "where: %s:%d:%d\n", se.File, se.Step.Line, se.Step.Column)
	}
	if se.Step.Target != nil {
		fmt.Fprintf(&b, "selector: %s\n", se.Step.Target.String())
	}
	fmt.Fprintf(&b, "url: %s\nerror: %v\n", se.URL, se.Err)
	for _, c := range se.Candidates {
		fmt.Fprintf(&b, "candidate: %s  (%s)\n", c.Selector, c.Why)
	}
	if s := r.save(p, base+".txt", []byte(b.String())); s != "" {
		se.Artifacts = append(se.Artifacts, s)
	}
}
