package rotator

import (
	"context"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// A change the site applies late: recovery saw the current password sign
// in and kept the candidate as the next one; then the site switched to it
// (a slow back end, or a killed run's request still in flight). The next
// run, finding current refused, probes the kept candidate and promotes it,
// instead of failing on every run until a lockout.
func TestLateChangeIsFound(t *testing.T) {
	for _, op := range []string{"verify", "rotate"} {
		t.Run(op, func(t *testing.T) {
			e := newFakeEnv(t, nil)
			const c1 = "Late-c1-Pw-123456789"
			st := e.open()
			ctx := context.Background()
			seq, err := st.AddCandidate(ctx, "alice", secret.New(c1))
			if err != nil {
				t.Fatal(err)
			}
			if err := st.MarkCandidate(ctx, "alice", seq, store.CandidateSubmitted); err != nil {
				t.Fatal(err)
			}
			st.Close()
			if res := e.run("verify"); res.Outcome != rotation.Succeeded {
				t.Fatalf("verify: %s %s", res.Outcome, res.Reason)
			}
			e.site.mu.Lock()
			e.site.password = c1 // the change lands now
			e.site.mu.Unlock()
			res := e.run(op)
			if res.Outcome != rotation.Succeeded || e.current() != c1 {
				t.Fatalf("%s: %s %s (%s); the vault's current password is not the site's", op, res.Outcome, res.Reason, res.Recovered)
			}
			e.site.mu.Lock()
			logins := strings.Join(e.site.logins, ",")
			e.site.mu.Unlock()
			if strings.Count(logins, c1) != 2 {
				t.Errorf("site logins %s", logins)
			}
		})
	}
}
