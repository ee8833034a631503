package store

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
)

// ErrNoConsoleToken means no console access token was ever created.
var ErrNoConsoleToken = errors.New("no console access token; create one with `rotator token new`")

// ErrConsoleTokenAltered is a console token hash that rotator did not write:
// its HMAC under the master key does not check.
var ErrConsoleTokenAltered = errors.New("the console access token's hash in the vault was not written by rotator (changed in the database?); nobody can sign in until `rotator token new` makes a new one")

// sealedToken is what the vault keeps of the console access token: its
// hash and an HMAC of it under the master key, so that someone who writes
// the database without the key cannot put in a token of their own.
func (s *Store) sealedToken(hash []byte) []byte {
	return append(append([]byte(nil), hash...), s.sealer.MAC([]byte("rotator console token v1"), hash)...)
}

// SetConsoleToken replaces the console access token's hash (the token
// itself is never stored) and audits it.
func (s *Store) SetConsoleToken(ctx context.Context, hash []byte, actor string) error {
	return s.tx(ctx, func(tx txn) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO vault_meta (key, value) VALUES ('console_token', ?)
			ON CONFLICT (key) DO UPDATE SET value = excluded.value`, s.sealedToken(hash)); err != nil {
			return fmt.Errorf("store the console token: %w", err)
		}
		return s.appendAudit(ctx, tx, AuditEvent{Actor: actor, Action: "console.token", Outcome: "replaced",
			Detail: "a new console access token was created; sessions signed in with the old one end"})
	})
}

// ConsoleToken returns the console access token's hash, or
// ErrConsoleTokenAltered when its HMAC does not check.
func (s *Store) ConsoleToken(ctx context.Context) ([]byte, error) {
	var v []byte
	err := s.db.QueryRowContext(ctx, `SELECT value FROM vault_meta WHERE key = 'console_token'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoConsoleToken
	}
	if err != nil {
		return nil, fmt.Errorf("read the console token: %w", err)
	}
	n := len(v) - sha256.Size
	if n <= 0 || !hmac.Equal(v, s.sealedToken(v[:n])) {
		return nil, ErrConsoleTokenAltered
	}
	return v[:n], nil
}

// sealConsoleToken gives the token hash of a vault written before version
// 9 its HMAC, in the migration's transaction.
func (s *Store) sealConsoleToken(ctx context.Context, tx txn) error {
	var v []byte
	err := tx.QueryRowContext(ctx, `SELECT value FROM vault_meta WHERE key = 'console_token'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE vault_meta SET value = ? WHERE key = 'console_token'`, s.sealedToken(v))
	return err
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
