package store

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// AuditEvent is one entry of the audit log. Nothing in it is ever a secret.
type AuditEvent struct {
	ID      int64
	At      time.Time
	Actor   string // who: "cli:<user>", "scheduler", "operator:<name>"
	Account string // may be empty for vault-wide events
	Action  string // what: "account.add", "account.reveal", "rotation", ...
	Outcome string // how it ended: "succeeded", "failed", "paused", ...
	Detail  string
}

func (s *Store) auditMAC(prev []byte, e AuditEvent) []byte {
	return s.sealer.MAC(prev, []byte(strconv.FormatInt(e.ID, 10)), []byte(strconv.FormatInt(e.At.UnixMilli(), 10)),
		[]byte(e.Actor), []byte(e.Account), []byte(e.Action), []byte(e.Outcome), []byte(e.Detail))
}

// Audit appends an event to the audit log. Each entry carries an HMAC over
// its content and the previous entry's HMAC, under a key derived from the
// master key; triggers refuse UPDATE and DELETE on sealed entries.
func (s *Store) Audit(ctx context.Context, e AuditEvent) error {
	if e.At.IsZero() {
		e.At = s.now()
	}
	return s.tx(ctx, func(tx *sql.Tx) error { return s.appendAudit(ctx, tx, e) })
}

func (s *Store) appendAudit(ctx context.Context, tx *sql.Tx, e AuditEvent) error {
	var prev []byte
	err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1`).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("write audit log: %w", err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO audit_log (at, actor, account, action, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)`,
		millis(e.At), e.Actor, e.Account, e.Action, e.Outcome, e.Detail)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	if e.ID, err = res.LastInsertId(); err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	e.At = time.UnixMilli(millis(e.At))
	h := s.auditMAC(prev, e)
	if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET hash = ? WHERE id = ?`, h, e.ID); err != nil {
		return fmt.Errorf("seal audit entry: %w", err)
	}
	head := []byte(strconv.FormatInt(e.ID, 10) + ":")
	head = append(head, h...)
	if _, err := tx.ExecContext(ctx, `INSERT INTO vault_meta (key, value) VALUES ('audit_head', ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`, head); err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	return nil
}

// sealUnchained chains entries written before the chain existed (vaults
// from schema versions 1 and 2); it runs once, during that migration.
func (s *Store) sealUnchained(ctx context.Context) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, at, actor, account, action, outcome, detail FROM audit_log WHERE hash IS NULL ORDER BY id`)
		if err != nil {
			return err
		}
		var events []AuditEvent
		for rows.Next() {
			var e AuditEvent
			var at int64
			if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Account, &e.Action, &e.Outcome, &e.Detail); err != nil {
				rows.Close()
				return err
			}
			e.At = time.UnixMilli(at)
			events = append(events, e)
		}
		rows.Close()
		var prev []byte
		for _, e := range events {
			h := s.auditMAC(prev, e)
			if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET hash = ? WHERE id = ?`, h, e.ID); err != nil {
				return err
			}
			prev = h
			head := append([]byte(strconv.FormatInt(e.ID, 10)+":"), h...)
			if _, err := tx.ExecContext(ctx, `INSERT INTO vault_meta (key, value) VALUES ('audit_head', ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`, head); err != nil {
				return err
			}
		}
		return nil
	})
}

// AuditLog returns the audit events for an account (all events when account
// is empty), oldest first.
func (s *Store) AuditLog(ctx context.Context, account string) ([]AuditEvent, error) {
	q := `SELECT id, at, actor, account, action, outcome, detail FROM audit_log`
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
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Account, &e.Action, &e.Outcome, &e.Detail); err != nil {
			return nil, fmt.Errorf("read audit log: %w", err)
		}
		e.At = time.UnixMilli(at)
		out = append(out, e)
	}
	return out, rows.Err()
}

// AuditBroken says where the audit chain stops holding.
type AuditBroken struct {
	ID      int64
	Problem string
}

func (e *AuditBroken) Error() string { return fmt.Sprintf("audit entry %d %s", e.ID, e.Problem) }

// VerifyAudit walks the whole chain and returns the number of entries, or
// an *AuditBroken naming the first entry that was altered, removed or
// inserted by hand.
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, account, action, outcome, detail, hash FROM audit_log ORDER BY id`)
	if err != nil {
		return 0, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	var (
		prev   []byte
		lastID int64
		n      int
	)
	for rows.Next() {
		var e AuditEvent
		var at int64
		var h []byte
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Account, &e.Action, &e.Outcome, &e.Detail, &h); err != nil {
			return n, fmt.Errorf("read audit log: %w", err)
		}
		e.At = time.UnixMilli(at)
		if e.ID != lastID+1 {
			return n, &AuditBroken{ID: lastID + 1, Problem: "was removed"}
		}
		if h == nil {
			return n, &AuditBroken{ID: e.ID, Problem: "was not written by rotator (no seal)"}
		}
		if !bytes.Equal(h, s.auditMAC(prev, e)) {
			return n, &AuditBroken{ID: e.ID, Problem: "was altered"}
		}
		prev, lastID = h, e.ID
		n++
	}
	if err := rows.Err(); err != nil {
		return n, err
	}
	var head []byte
	err = s.db.QueryRowContext(ctx, `SELECT value FROM vault_meta WHERE key = 'audit_head'`).Scan(&head)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return n, err
	}
	if head != nil {
		idPart, mac, _ := bytes.Cut(head, []byte(":"))
		headID, _ := strconv.ParseInt(string(idPart), 10, 64)
		if headID > lastID {
			return n, &AuditBroken{ID: lastID + 1, Problem: fmt.Sprintf("and the %d entries after it were removed", headID-lastID-1)}
		}
		if headID == lastID && !bytes.Equal(mac, prev) {
			return n, &AuditBroken{ID: lastID, Problem: "was altered (it differs from the recorded head)"}
		}
	}
	return n, nil
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
