package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ScheduleEntry is an account as the scheduler sees it.
type ScheduleEntry struct {
	Name     string
	Template string
	Schedule string // empty: the configured default
	State    State
	NextDue  time.Time // zero: never computed
	Failures int
	Hold     string // why the next run waits beyond its cron time
}

// ScheduleEntries lists every account's scheduling state.
func (s *Store) ScheduleEntries(ctx context.Context) ([]ScheduleEntry, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT name, template, schedule, state, next_due_at, failures, hold_reason FROM accounts ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("read schedule: %w", err)
	}
	defer rows.Close()
	var out []ScheduleEntry
	for rows.Next() {
		var e ScheduleEntry
		var st string
		var due sql.NullInt64
		if err := rows.Scan(&e.Name, &e.Template, &e.Schedule, &st, &due, &e.Failures, &e.Hold); err != nil {
			return nil, err
		}
		e.State, e.NextDue = State(st), fromMillis(due)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetNextDue stores when the account runs next, its failures in a row, and
// why it is held past its cron time ("" when it is not).
func (s *Store) SetNextDue(ctx context.Context, name string, due time.Time, failures int, hold string) error {
	return s.tx(ctx, func(tx txn) error {
		return updateAccount(ctx, tx, name, "set next run",
			`UPDATE accounts SET next_due_at = ?, failures = ?, hold_reason = ? WHERE name = ?`, millis(due), failures, hold)
	})
}

// ResetSchedule forgets the account's next due time and hold, so the
// scheduler computes them afresh (after an operator changed its limit or
// cleared it).
func (s *Store) ResetSchedule(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx txn) error {
		return updateAccount(ctx, tx, name, "reset schedule",
			`UPDATE accounts SET next_due_at = NULL, hold_reason = '', failures = 0 WHERE name = ?`)
	})
}

// DueTime is one account's next due time, for SetNextDues.
type DueTime struct {
	Name string
	Due  time.Time
}

// SetNextDues stores first due times of many accounts in one transaction
// (a scheduler loading a large vault).
func (s *Store) SetNextDues(ctx context.Context, dues []DueTime) error {
	return s.tx(ctx, func(tx txn) error {
		for _, d := range dues {
			if _, err := tx.ExecContext(ctx, `UPDATE accounts SET next_due_at = ? WHERE name = ?`, millis(d.Due), d.Name); err != nil {
				return fmt.Errorf("set next run of %s: %w", d.Name, err)
			}
		}
		return nil
	})
}
