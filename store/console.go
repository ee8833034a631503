package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ErrNoConsoleToken means no console access token was ever created.
var ErrNoConsoleToken = errors.New("no console access token; create one with `rotator token new`")

// SetConsoleToken replaces the console access token's hash (the token
// itself is never stored) and audits it.
func (s *Store) SetConsoleToken(ctx context.Context, hash []byte, actor string) error {
	return s.tx(ctx, func(tx txn) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vault_meta (key, value) VALUES ('console_token', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, hash); err != nil {
			return fmt.Errorf("store the console token: %w", err)
		}
		return s.appendAudit(ctx, tx, AuditEvent{Actor: actor, Action: "console.token", Outcome: "replaced",
			Detail: "a new console access token was created; sessions signed in with the old one end"})
	})
}

// ConsoleToken returns the console access token's hash.
func (s *Store) ConsoleToken(ctx context.Context) ([]byte, error) {
	var h []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM vault_meta WHERE key = 'console_token'`).Scan(&h)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoConsoleToken
	}
	if err != nil {
		return nil, fmt.Errorf("read the console token: %w", err)
	}
	return h, nil
}

// ClearFlag returns a paused, needs_operator or failed account to active,
// scheduled afresh, and audits who did it. It returns the account as it was.
func (s *Store) ClearFlag(ctx context.Context, name, actor string) (Account, error) {
	was, err := s.Account(ctx, name)
	if err != nil {
		return was, err
	}
	if err := s.Flag(ctx, name, StateActive, ""); err != nil {
		return was, err
	}
	if err := s.ResetSchedule(ctx, name); err != nil {
		return was, err
	}
	return was, s.Audit(ctx, AuditEvent{Actor: actor, Account: name, Action: "account.clear", Outcome: "succeeded",
		Detail: fmt.Sprintf("was %s: %s", was.State, was.FlagReason)})
}
