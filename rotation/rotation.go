// Package rotation is the vocabulary of a run: what kind of run it is, how
// it ended, and what recovery found. The rotator that runs it, the store
// that records it, the scheduler that plans the next one, the metrics, the
// webhook and the console that report it all use these types, so a word
// means one thing everywhere.
package rotation

// Kind is what a run does.
type Kind string

// The kinds of run.
const (
	// Rotate changes the password (recovering an unfinished change first).
	Rotate Kind = "rotate"
	// Verify signs in with the current password, changing nothing
	// (recovering an unfinished change first).
	Verify Kind = "verify"
	// Session is a browser an operator opened on the account.
	Session Kind = "session"
)

// Outcome is how a run ended.
type Outcome string

// The outcomes.
const (
	// Running is recorded while a run goes on; a run left running was
	// killed.
	Running Outcome = "running"
	// Succeeded: the run did what it was for (a rotation's new password
	// signed in and is current).
	Succeeded Outcome = "succeeded"
	// Failed: the run stopped without a change, or with one recovery will
	// finish; the scheduler backs off.
	Failed Outcome = "failed"
	// Paused: a challenge waits for an operator.
	Paused Outcome = "paused"
	// NeedsOperator: nothing automatic touches the account until an
	// operator clears it.
	NeedsOperator Outcome = "needs_operator"
	// Refused: the run may not start (the account waits for an operator,
	// or the cap or the gap holds it back).
	Refused Outcome = "refused"
	// Busy: the run could not start because another holds the account.
	Busy Outcome = "busy"
	// Deferred: the run finished an unfinished rotation's recovery (the
	// password that signs in is current) but left its change to the next
	// run: recovery spent too much of the run's failed sign-in budget to
	// prove a new password. Nothing is wrong with the account: the
	// scheduler runs it again soon and counts no failure.
	Deferred Outcome = "deferred"
)

// Found is the kind of thing recovery found.
type Found int

// What recovery may find. Every value is a distinct branch of the
// rotation; the rotator's branch table test reaches each one.
const (
	// NotNeeded: no stored candidate called for recovery.
	NotNeeded Found = iota
	// NotRun: the stored passwords could not be read.
	NotRun
	// Stopped: a challenge or an interruption stopped recovery.
	Stopped
	// BudgetSpent: the run's budget of failed sign-ins ran out first.
	BudgetSpent
	// NoneSignsIn: no stored password signs in.
	NoneSignsIn
	// CandidatePromoted: a candidate signs in and is now current.
	CandidatePromoted
	// CandidateNotPromoted: a candidate signs in but could not be made
	// current (it is kept; the next recovery promotes it).
	CandidateNotPromoted
	// CurrentSignsIn: the current password signs in; no change happened.
	CurrentSignsIn
	// PreviousRestored: a previous password signs in and is current again.
	PreviousRestored
	// PreviousNotRestored: a previous password signs in but could not be
	// made current.
	PreviousNotRestored
	// PendingFails: the current password failed, and so does the pending
	// one probed for a late change.
	PendingFails
)

// AllFound lists every Found value, for tests that must reach each one.
func AllFound() []Found {
	return []Found{NotNeeded, NotRun, Stopped, BudgetSpent, NoneSignsIn, CandidatePromoted,
		CandidateNotPromoted, CurrentSignsIn, PreviousRestored, PreviousNotRestored, PendingFails}
}

// Finding is what a recovery found, for the record. Label names the
// password that signed in ("pending", "candidate #3", "previous #2"),
// never its value.
type Finding struct {
	Found Found
	Label string
}

// Ran reports whether recovery ran and found something to say.
func (f Finding) Ran() bool { return f.Found != NotNeeded }

// String says it in words ("" when recovery was not needed).
func (f Finding) String() string {
	switch f.Found {
	case NotRun:
		return "not run"
	case Stopped:
		return "stopped"
	case BudgetSpent:
		return "budget spent"
	case NoneSignsIn:
		return "no password signs in"
	case CandidatePromoted:
		return f.Label + " password signs in; promoted"
	case CandidateNotPromoted:
		return f.Label + " password signs in; promotion failed"
	case CurrentSignsIn:
		return "current password signs in; pending kept as the next candidate"
	case PreviousRestored:
		return f.Label + " password signs in; restored as current"
	case PreviousNotRestored:
		return f.Label + " password signs in; restore failed"
	case PendingFails:
		return "the pending password does not sign in either"
	}
	return ""
}
