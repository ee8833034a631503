package browser

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// Line is the report as the command line shows a step when it ends: its
// flow (withFlow) or its depth, its path, what it did, the selector
// alternative that matched when there were several, what it noted, how
// long it took, and how it ended: ok, FAILED, or CHALLENGE and its kind.
func (r StepReport) Line(withFlow bool) string {
	status := "ok"
	if r.Err != nil {
		status = "FAILED"
		var ce *ChallengeError
		if errors.As(r.Err, &ce) {
			status = "CHALLENGE " + string(ce.Kind)
		}
	}
	matched := ""
	if r.Matched != "" && r.Step.Target != nil && len(r.Step.Target.Alternatives) > 1 {
		matched = " -> " + r.Matched
	}
	note := ""
	if r.Note != "" {
		note = " (" + r.Note + ")"
	}
	lead := strings.Repeat("  ", strings.Count(r.Path, "."))
	if withFlow {
		lead = fmt.Sprintf("%-6s ", r.Flow)
	}
	return fmt.Sprintf("  %s%-8s %s%s%s  %s  %s", lead, r.Path, r.Step.Describe(), matched, note, r.Duration.Round(time.Millisecond), status)
}

// Explain writes to w what a template's author needs after a flow ended
// with err: for a challenge, what and where, and its screenshot; for a
// failed step, which, where in the file, why, the page, the files saved,
// and what the page offers instead. Other errors get nothing.
func Explain(w io.Writer, err error) {
	var se *StepError
	var ce *ChallengeError
	switch {
	case errors.As(err, &ce):
		fmt.Fprintf(w, "\nchallenge: %s (%s) at %s after %s step %s\n", ce.Kind, ce.Name, ce.URL, ce.Flow, ce.Step)
		if ce.Screenshot != "" {
			fmt.Fprintf(w, "screenshot: %s\n", ce.Screenshot)
		}
		fmt.Fprintln(w, "A person must get past it (the console will let an operator do so); rotator never guesses.")
	case errors.As(err, &se):
		fmt.Fprintf(w, "\nfailed: %s step %s, %s\n", se.Flow, se.Path, se.Step.Describe())
		if se.File != "" {
			fmt.Fprintf(w, "where:  %s:%d:%d\n", se.File, se.Step.Line, se.Step.Column)
		}
		fmt.Fprintf(w, "why:    %v\n", se.Err)
		fmt.Fprintf(w, "page:   %s\n", se.URL)
		for _, p := range se.Artifacts {
			fmt.Fprintf(w, "saved:  %s\n", p)
		}
		if len(se.Candidates) > 0 {
			fmt.Fprintln(w, "the page offers instead:")
			for i, c := range se.Candidates {
				fmt.Fprintf(w, "  %d. %-40s %s\n", i+1, fmt.Sprintf("%q", c.Selector), c.Why)
				if c.Crop != "" {
					fmt.Fprintf(w, "     %s\n", c.Crop)
				}
			}
		}
	}
}
