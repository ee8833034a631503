package demo

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/rotator-pam/rotator/internal/clip"
	"github.com/rotator-pam/rotator/internal/term"
)

// Table is the demo's live view of its rows: redrawn in place on a
// terminal, a line per change of an account's state otherwise.
type Table struct {
	w     io.Writer
	now   func() time.Time
	start time.Time
	tty   bool
	last  map[string]string
	drew  int
}

// NewTable draws on w, with elapsed times on the clock now; the demo's
// total time counts from now on.
func NewTable(w io.Writer, now func() time.Time) *Table {
	return &Table{w: w, now: now, start: now(), tty: term.IsTerminal(w), last: map[string]string{}}
}

func (t *Table) line(r Row) string {
	el, took := r.Elapsed(t.now()), ""
	if el > 0 {
		took = fmt.Sprintf("%5.1fs", el.Seconds())
	}
	step := clip.String(r.Step, 34)
	return fmt.Sprintf("%-7s %-34s %-10s %7s", r.Name, step, r.State, took)
}

// Draw shows rows: Wait's show.
func (t *Table) Draw(rows []Row) {
	header := fmt.Sprintf("%-7s %-34s %-10s %7s", "ACCOUNT", "STEP", "STATE", "ELAPSED")
	if t.tty {
		if t.drew > 0 {
			fmt.Fprintf(t.w, "\x1b[%dA", t.drew)
		}
		fmt.Fprintf(t.w, "\x1b[2K%s\n", header)
		for _, r := range rows {
			fmt.Fprintf(t.w, "\x1b[2K%s\n", t.line(r))
		}
		t.drew = len(rows) + 1
		return
	}
	if t.drew == 0 {
		fmt.Fprintln(t.w, header)
		t.drew = 1
	}
	// Not a terminal: a line when an account's state changes.
	for _, r := range rows {
		if t.last[r.Name] != r.State {
			t.last[r.Name] = r.State
			fmt.Fprintln(t.w, t.line(r))
		}
	}
}

// Summary shows the demo's total time, and each account's outcome and
// what the site says, by name.
func (t *Table) Summary(rows []Row) {
	fmt.Fprintf(t.w, "\nsummary (%.1fs):\n", t.now().Sub(t.start).Seconds())
	rows = slices.Clone(rows)
	slices.SortFunc(rows, func(a, b Row) int { return strings.Compare(a.Name, b.Name) })
	for _, r := range rows {
		fmt.Fprintf(t.w, "  %-6s %-16s %-10s %6.1fs  %s\n", r.Name, r.Kind, r.Outcome, r.Took.Seconds(), r.Site)
	}
}
