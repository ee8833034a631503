package rotator

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/rotator-pam/rotator/internal/clip"
)

// Report writes how the template fared, as verify --all shows it: the
// accounts that signed in; per step, its flow, path and description, how
// many accounts passed it, the selector alternatives that matched, and a
// mark on a step only a later alternative found; then each account's
// result.
func (h TemplateHealth) Report(w io.Writer) {
	fmt.Fprintf(w, "template %s: %d of %d account(s) signed in\n", h.Template, h.SignedIn, h.Accounts)
	for _, st := range h.Steps {
		status := "ok"
		if st.Failed > 0 {
			status = "FAILED"
		}
		var m []string
		for sel, n := range st.Matched {
			m = append(m, fmt.Sprintf("%s x%d", sel, n))
		}
		sort.Strings(m)
		line := fmt.Sprintf("  %-6s %-9s %-45s %d/%d %s", st.Flow, st.Path, clip.String(st.Desc, 45), st.OK, st.OK+st.Failed, status)
		if len(m) > 0 {
			line += "  matched " + strings.Join(m, ", ")
		}
		if st.Late {
			line += "  <- not the first alternative: the page may have changed"
		}
		fmt.Fprintln(w, line)
	}
	for _, r := range h.Results {
		fmt.Fprintln(w, "  "+r.Account+": "+r.Status)
	}
}
