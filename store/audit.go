package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AuditEvent is one entry of the audit log. Detail must never hold a secret.
type AuditEvent struct {
	ID      int64
	At      time.Time
	Actor   string // who: "cli:<user>", "scheduler", "operator:<name>"
	Account string // may be empty for vault-wide events
	Action  string // what: "account.add", "account.reveal", ...
	Detail  string
}

// Audit appends an event to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEvent) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	return s.tx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, account, action, detail) VALUES (?, ?, ?, ?, ?)`,
			millis(e.At), e.Actor, e.Account, e.Action, e.Detail)
		if err != nil {
			return fmt.Errorf("write audit log: %w", err)
		}
		return nil
	})
}

// AuditLog returns the audit events for an account (all events when account
// is empty), oldest first.
func (s *Store) AuditLog(ctx context.Context, account string) ([]AuditEvent, error) {
	q := `SELECT id, at, actor, account, action, detail FROM audit_log`
	var args []any
	if account != "" {
		q += ` WHERE account = ?`
		args = append(args, account)
	}
	rows, err := s.db.QueryContext(ctx, q+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditEvent
	for rows.Next() {
		var e AuditEvent
		var at int64
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Account, &e.Action, &e.Detail); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// SetCookies stores the account's browser cookies (an opaque, sealed blob).
func (s *Store) SetCookies(ctx context.Context, name string, cookies []byte) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE name = ?`, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		if err != nil {
			return fmt.Errorf("store cookies of %s: %w", name, err)
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO browser_state (account_id, cookies, updated_at) VALUES (?, ?, ?)
ON CONFLICT (account_id) DO UPDATE SET cookies = excluded.cookies, updated_at = excluded.updated_at`,
			id, s.sealer.Seal(cookies, adCookies(name)), millis(s.now()))
		if err != nil {
			return fmt.Errorf("store cookies of %s: %w", name, err)
		}
		return nil
	})
}

// Cookies returns the account's stored browser cookies, nil if none.
func (s *Store) Cookies(ctx context.Context, name string) ([]byte, error) {
	id, err := s.accountID(ctx, name)
	if err != nil {
		return nil, err
	}
	var sealed []byte
	err = s.db.QueryRowContext(ctx, `SELECT cookies FROM browser_state WHERE account_id = ?`, id).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read cookies of %s: %w", name, err)
	}
	pt, err := s.sealer.Open(sealed, adCookies(name))
	if err != nil {
		return nil, fmt.Errorf("decrypt cookies of %s: %w", name, err)
	}
	return pt, nil
}
