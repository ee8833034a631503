package schedule

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/store"
)

// history is a hand-written History: each account's change times.
type history map[string][]time.Time

func (h history) Changes(_ context.Context, name string, since time.Time) ([]time.Time, error) {
	var out []time.Time
	for _, c := range h[name] {
		if c.After(since) {
			out = append(out, c)
		}
	}
	return out, nil
}

func (h history) GetLimit(context.Context, string) (store.Limit, error) { return store.Limit{}, nil }

func TestPlan(t *testing.T) {
	now := at(10) // 10:00 UTC
	h := history{"capped": {at(1), at(8)}}
	entries := []store.ScheduleEntry{
		{Name: "fresh", State: store.StateActive},
		{Name: "own", Schedule: "0 12 * * *", State: store.StateActive, NextDue: at(12)},
		{Name: "missed", State: store.StateActive, NextDue: at(3)},
		{Name: "capped", State: store.StateActive, NextDue: at(11)},
		{Name: "backoff", State: store.StateActive, NextDue: at(11), Hold: "backoff after 1 failure(s) in a row"},
		{Name: "paused", State: store.StatePaused, NextDue: at(11)},
		{Name: "flagged", State: store.StateNeedsOperator, NextDue: at(11)},
		{Name: "off", State: store.StateDisabled, NextDue: at(11)},
	}
	got, err := Plan(context.Background(), h, Policy{MinGap: DefaultMinGap}, entries, "@daily", now)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		spec string
		next time.Time
		held string
	}{
		{"@daily", at(24), ""},
		{"0 12 * * *", at(12), ""},
		{"@daily", now, ""},
		{"@daily", at(25), "cap: 2 changes"},
		{"@daily", at(11), "backoff after 1 failure(s) in a row"},
		{"@daily", at(11), "waits for an operator (rotator flags)"},
		{"@daily", at(11), "waits for an operator (rotator flags)"},
		{"@daily", at(11), "disabled"},
	}
	if len(got) != len(want) {
		t.Fatalf("%d entries, want %d", len(got), len(want))
	}
	for i, w := range want {
		g := got[i]
		if g.Name != entries[i].Name || g.State != entries[i].State || g.Spec != w.spec || !g.Next.Equal(w.next) ||
			!strings.HasPrefix(g.Held, w.held) || (w.held == "" && g.Held != "") {
			t.Errorf("%s: got %s %v %q, want %s %v %q", entries[i].Name, g.Spec, g.Next.Sub(t0), g.Held, w.spec, w.next.Sub(t0), w.held)
		}
	}
}

func TestPlanBadSpec(t *testing.T) {
	_, err := Plan(context.Background(), history{}, Policy{}, []store.ScheduleEntry{{Name: "x", Schedule: "every day"}}, "@daily", at(0))
	if err == nil || !strings.HasPrefix(err.Error(), "account x: schedule \"every day\"") {
		t.Errorf("err = %v", err)
	}
}
