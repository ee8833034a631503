package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/rotation"
)

// TestTable: off a terminal, the table prints its header once and a line
// only when an account's state changes; the summary is sorted by name.
func TestTable(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var out strings.Builder
	clock := now
	tab := NewTable(&out, func() time.Time { return clock })
	rows := []Row{
		{Account: Account{Name: "bob", Kind: "password + TOTP"}, State: "queued"},
		{Account: Account{Name: "alice", Kind: "password"}, State: "running", Step: "login 1 goto and a very long description to cut",
			Started: now.Add(-1500 * time.Millisecond)},
	}
	tab.Draw(rows)
	tab.Draw(rows)
	rows[0].State, rows[0].Took, rows[0].Outcome, rows[0].Site = "succeeded", 2*time.Second, rotation.Succeeded, "new password verified on the site"
	tab.Draw(rows)
	clock = now.Add(4 * time.Second)
	tab.Summary(rows)
	want := `ACCOUNT STEP                               STATE      ELAPSED
bob                                        queued            
alice   login 1 goto and a very long de... running       1.5s
bob                                        succeeded     2.0s

summary (4.0s):
  alice  password                       0.0s  
  bob    password + TOTP  succeeded     2.0s  new password verified on the site
`
	if out.String() != want {
		t.Errorf("got\n%s\nwant\n%s", out.String(), want)
	}
}
