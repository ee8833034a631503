package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/rotator-pam/rotator/otp"
)

var _ otp.StepGuard = (*Store)(nil)

// ClaimStep implements otp.StepGuard: it records step as the account's
// latest used TOTP time step if it is later than every step used before.
// The check and the write are one statement, so two processes can never
// both claim the same step.
func (s *Store) ClaimStep(ctx context.Context, account string, step uint64) (bool, uint64, error) {
	var (
		ok   bool
		last uint64
	)
	err := s.tx(ctx, func(tx txn) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET totp_last_step = ?
WHERE name = ? AND (totp_last_step IS NULL OR totp_last_step < ?)`, int64(step), account, int64(step))
		if err != nil {
			return fmt.Errorf("claim TOTP step for %s: %w", account, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			ok, last = true, step
			return nil
		}
		var cur sql.NullInt64
		err = tx.QueryRowContext(ctx, `SELECT totp_last_step FROM accounts WHERE name = ?`, account).Scan(&cur)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNotFound, account)
		}
		if err != nil {
			return fmt.Errorf("read TOTP step of %s: %w", account, err)
		}
		last = uint64(cur.Int64)
		return nil
	})
	return ok, last, err
}

// ReserveStep marks step as used without failing when a later one already
// is: for codes shown to a person (`rotator otp`), who may type them
// anywhere, so that automation never submits the same code.
func (s *Store) ReserveStep(ctx context.Context, account string, step uint64) error {
	return s.tx(ctx, func(tx txn) error {
		return updateAccount(ctx, tx, account, "reserve TOTP step",
			`UPDATE accounts SET totp_last_step = CASE WHEN totp_last_step IS NULL OR totp_last_step < ? THEN ? ELSE totp_last_step END WHERE name = ?`,
			int64(step), int64(step))
	})
}

// LastStep returns the latest TOTP step used for the account, and false when
// none was.
func (s *Store) LastStep(ctx context.Context, account string) (uint64, bool, error) {
	var cur sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT totp_last_step FROM accounts WHERE name = ?`, account).Scan(&cur)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, fmt.Errorf("%w: %s", ErrNotFound, account)
	}
	if err != nil {
		return 0, false, fmt.Errorf("read TOTP step of %s: %w", account, err)
	}
	return uint64(cur.Int64), cur.Valid, nil
}
