package browser

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/rotator-pam/rotator/templates"
)

// StepPath locates a step in its flow, as StepReport.Path, StepError.Path
// and the run records write it: "3" is the flow's third step, "5.then.1"
// the first step of the then branch of the if at step 5, "6.2" the second
// step inside the frame at step 6. The engine writes paths as it walks
// the flow (runSteps, doIf, doFrame); this type reads them back
// (ParseStepPath) and writes them for reports (String), and its test
// round-trips every shape the engine writes.
type StepPath []PathElem

// PathElem is one level of a StepPath: a step's number (from 1) among its
// siblings, and, when the path goes on into an if's branch, which one.
type PathElem struct {
	N int
	// Branch is "then" or "else" when the path goes on into that branch
	// of an if; empty at the last level and into a frame's steps.
	Branch string
}

// String writes the path as the reports show it.
func (p StepPath) String() string {
	var b strings.Builder
	for i, e := range p {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.Itoa(e.N))
		if e.Branch != "" {
			b.WriteString("." + e.Branch)
		}
	}
	return b.String()
}

// ParseStepPath reads a path as String writes it.
func ParseStepPath(s string) (StepPath, error) {
	parts := strings.Split(s, ".")
	var p StepPath
	for i := 0; i < len(parts); i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil || n < 1 {
			return nil, fmt.Errorf("step path %q: %q is not a step number", s, parts[i])
		}
		e := PathElem{N: n}
		if i+1 < len(parts) && (parts[i+1] == "then" || parts[i+1] == "else") {
			e.Branch, i = parts[i+1], i+1
			if i+1 == len(parts) {
				return nil, fmt.Errorf("step path %q ends in a branch", s)
			}
		}
		p = append(p, e)
	}
	return p, nil
}

// Lookup finds the step the path names in a flow's steps.
func (p StepPath) Lookup(steps []templates.Step) (templates.Step, bool) {
	var cur templates.Step
	for i, e := range p {
		if e.N > len(steps) {
			return templates.Step{}, false
		}
		cur = steps[e.N-1]
		if i+1 == len(p) {
			break
		}
		switch e.Branch {
		case "then":
			steps = cur.Then
		case "else":
			steps = cur.Else
		default:
			steps = cur.Steps
		}
	}
	return cur, len(p) > 0
}

// Less orders two paths of one flow as their steps appear in the template:
// a step before the steps inside it, a then branch before an else.
func (p StepPath) Less(q StepPath) bool {
	for i := 0; i < len(p) && i < len(q); i++ {
		a, b := p[i], q[i]
		if a.N != b.N {
			return a.N < b.N
		}
		if a.Branch != b.Branch {
			return branchRank(a.Branch) < branchRank(b.Branch)
		}
	}
	return len(p) < len(q)
}

func branchRank(b string) int {
	switch b {
	case "then":
		return 1
	case "else":
		return 2
	}
	return 0
}
