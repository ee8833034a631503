package store

import (
	"bytes"
	"context"
	"crypto/hmac"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
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

// auditMAC seals an entry as this version writes it: the "v2" in front
// tells its entries from the previous version's (auditMACv1), so a vault
// that holds one of them must also hold a sealed head.
func (s *Store) auditMAC(prev []byte, e AuditEvent) []byte {
	return s.sealer.MAC([]byte("v2"), prev, []byte(strconv.FormatInt(e.ID, 10)), []byte(strconv.FormatInt(e.At.UnixMilli(), 10)),
		[]byte(e.Actor), []byte(e.Account), []byte(e.Action), []byte(e.Outcome), []byte(e.Detail))
}

// auditMACv1 is how the previous version sealed entries.
func (s *Store) auditMACv1(prev []byte, e AuditEvent) []byte {
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
	return s.tx(ctx, func(tx txn) error { return s.appendAudit(ctx, tx, e) })
}

func (s *Store) appendAudit(ctx context.Context, tx txn, e AuditEvent) error {
	var prev []byte
	err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE hash IS NOT NULL ORDER BY id DESC LIMIT 1`).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("write audit log: %w", err)
	}
	err = tx.QueryRowContext(ctx, `INSERT INTO audit_log (at, actor, account, action, outcome, detail) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
		millis(e.At), e.Actor, e.Account, e.Action, e.Outcome, e.Detail).Scan(&e.ID)
	if err != nil {
		return fmt.Errorf("write audit log: %w", err)
	}
	e.At = time.UnixMilli(millis(e.At))
	h := s.auditMAC(prev, e)
	if _, err := tx.ExecContext(ctx, `UPDATE audit_log SET hash = ? WHERE id = ?`, h, e.ID); err != nil {
		return fmt.Errorf("seal audit entry: %w", err)
	}
	return s.advanceAuditHead(ctx, tx, e.ID, h)
}

// The chain's head is kept in vault_meta ('audit_head'), written in the
// same transaction as each entry: how many entries the chain holds, the
// last one's id and hash, and a MAC over them under the vault's key. The
// rows alone cannot tell that the last ones, or all of them, were removed;
// the head can, and without the key it cannot be rewritten to match.
//
// Its value is "v2:<count>:<last id>:<hex hash>:<hex mac>". The previous
// version kept "<last id>:<hash>", unsealed: such a head is checked as it
// was and replaced by a sealed one (on the next entry, or by VerifyAudit).
const auditHeadVersion = "v2"

type auditHead struct {
	legacy bool // "<id>:<hash>", written by the previous version
	count  int64
	lastID int64
	hash   []byte
	mac    []byte
}

func (s *Store) auditHeadMAC(count, lastID int64, hash []byte) []byte {
	return s.sealer.MAC([]byte("rotator audit head"), []byte(strconv.FormatInt(count, 10)),
		[]byte(strconv.FormatInt(lastID, 10)), hash)
}

func (s *Store) encodeAuditHead(count, lastID int64, hash []byte) []byte {
	return fmt.Appendf(nil, "%s:%d:%d:%x:%x", auditHeadVersion, count, lastID, hash, s.auditHeadMAC(count, lastID, hash))
}

// parseAuditHead reads a stored head; ok is false for a value in neither
// format.
func parseAuditHead(v []byte) (h auditHead, ok bool) {
	if rest, v2 := bytes.CutPrefix(v, []byte(auditHeadVersion+":")); v2 {
		parts := strings.Split(string(rest), ":")
		if len(parts) != 4 {
			return h, false
		}
		var err1, err2, err3, err4 error
		h.count, err1 = strconv.ParseInt(parts[0], 10, 64)
		h.lastID, err2 = strconv.ParseInt(parts[1], 10, 64)
		h.hash, err3 = hex.DecodeString(parts[2])
		h.mac, err4 = hex.DecodeString(parts[3])
		return h, errors.Join(err1, err2, err3, err4) == nil
	}
	idPart, hash, found := bytes.Cut(v, []byte(":"))
	id, err := strconv.ParseInt(string(idPart), 10, 64)
	if !found || err != nil {
		return h, false
	}
	return auditHead{legacy: true, lastID: id, hash: hash}, true
}

// readAuditHead returns the stored head; found is false when there is none.
func readAuditHead(ctx context.Context, q queryRower) (raw []byte, found bool, err error) {
	err = q.QueryRowContext(ctx, `SELECT value FROM vault_meta WHERE key = 'audit_head'`).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("read audit head: %w", err)
	}
	return raw, true, nil
}

func writeAuditHead(ctx context.Context, tx txn, value []byte) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO vault_meta (key, value) VALUES ('audit_head', ?)
ON CONFLICT (key) DO UPDATE SET value = excluded.value`, value); err != nil {
		return fmt.Errorf("write audit head: %w", err)
	}
	return nil
}

// advanceAuditHead moves the head to the entry just appended (id, hash).
// A head that does not hold (a bad MAC, or none although entries exist) is
// left as it is, for VerifyAudit to report: writing a fresh one would
// cover up what was done.
func (s *Store) advanceAuditHead(ctx context.Context, tx txn, id int64, hash []byte) error {
	raw, found, err := readAuditHead(ctx, tx)
	if err != nil {
		return err
	}
	var count int64
	head, ok := parseAuditHead(raw)
	switch {
	case found && ok && !head.legacy:
		if !hmac.Equal(head.mac, s.auditHeadMAC(head.count, head.lastID, head.hash)) {
			return nil
		}
		count = head.count + 1
	default:
		// No sealed head yet: a new vault, or one written by the
		// previous version. Count the rows, once.
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM audit_log`).Scan(&count); err != nil {
			return fmt.Errorf("count audit entries: %w", err)
		}
		if !found && (count > 1 || s.sealedAudit.Load()) {
			return nil // entries, and no head (or a vault that always has one): removed
		}
		if found && (!ok || head.legacy && !s.legacyHeadHolds(ctx, tx, head)) {
			return nil
		}
	}
	if err := writeAuditHead(ctx, tx, s.encodeAuditHead(count, id, hash)); err != nil {
		return err
	}
	return s.markSealedAudit(ctx, tx)
}

// legacyHeadHolds reports whether the previous version's head names an
// entry that is there with that hash.
func (s *Store) legacyHeadHolds(ctx context.Context, tx txn, head auditHead) bool {
	var h []byte
	err := tx.QueryRowContext(ctx, `SELECT hash FROM audit_log WHERE id = ?`, head.lastID).Scan(&h)
	return err == nil && bytes.Equal(h, head.hash)
}

// sealUnchained chains entries written before the chain existed (vaults
// from schema versions 1 and 2); it runs once, during that migration.
func (s *Store) sealUnchained(ctx context.Context) error {
	return s.tx(ctx, func(tx txn) error {
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
		}
		if len(events) == 0 {
			return nil
		}
		last := events[len(events)-1]
		return writeAuditHead(ctx, tx, s.encodeAuditHead(int64(len(events)), last.ID, prev))
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

// AuditBroken says where the audit chain stops holding. ID 0 means the
// chain as a whole (its head), not one entry.
type AuditBroken struct {
	ID      int64
	Problem string
}

func (e *AuditBroken) Error() string {
	if e.ID == 0 {
		return "audit chain " + e.Problem
	}
	return fmt.Sprintf("audit entry %d %s", e.ID, e.Problem)
}

// AuditStatus is what CheckAudit found.
type AuditStatus struct {
	// Entries is how many entries hold.
	Entries int
	// HeadRecorded says the vault had no sealed chain head (an empty
	// vault, or one written by the previous version) and one was recorded
	// now: from here on, removed entries are caught.
	HeadRecorded bool
}

// VerifyAudit walks the whole chain and returns the number of entries, or
// an *AuditBroken naming the first entry that was altered, removed or
// inserted by hand. See CheckAudit.
func (s *Store) VerifyAudit(ctx context.Context) (int, error) {
	st, err := s.CheckAudit(ctx)
	return st.Entries, err
}

// CheckAudit walks the whole chain and checks it against the recorded head:
// an entry altered, removed (the first ones, the last ones, or all of them)
// or inserted by hand is reported as an *AuditBroken. A vault with no
// sealed head yet gets one recorded (AuditStatus.HeadRecorded).
func (s *Store) CheckAudit(ctx context.Context) (AuditStatus, error) {
	var st AuditStatus
	raw, found, err := readAuditHead(ctx, s.db)
	if err != nil {
		return st, err
	}
	head, ok := parseAuditHead(raw)
	if found && !ok {
		return st, &AuditBroken{Problem: "head record is not in any format rotator writes"}
	}
	if found && !head.legacy && !hmac.Equal(head.mac, s.auditHeadMAC(head.count, head.lastID, head.hash)) {
		return st, &AuditBroken{Problem: "head record was altered (its MAC does not hold)"}
	}
	c, err := s.walkAudit(ctx, found, head.lastID)
	st.Entries = c.n
	if err != nil {
		return st, err
	}
	n, lastID := c.n, c.lastID
	switch {
	case !found && n > 0:
		return st, &AuditBroken{Problem: fmt.Sprintf("head record was removed (%d entries remain; entries after them may have been removed too)", n)}
	case !found && s.sealedAudit.Load():
		return st, &AuditBroken{Problem: "head record was removed, and every entry with it"}
	case !found:
		// An empty vault from before sealed heads: record one.
	case head.lastID > lastID:
		return st, &AuditBroken{ID: lastID + 1, Problem: fmt.Sprintf("and the %d entries after it were removed", head.lastID-lastID-1)}
	case !bytes.Equal(c.headHash, head.hash):
		return st, &AuditBroken{ID: head.lastID, Problem: "was altered (it differs from the recorded head)"}
	case head.legacy && c.sealedByThis:
		return st, &AuditBroken{Problem: "head record is unsealed although this vault had a sealed one: it was replaced (or an older rotator wrote to this vault)"}
	case head.legacy:
		// The previous version's head holds: seal it.
	case head.lastID < lastID:
		return st, &AuditBroken{ID: head.lastID + 1, Problem: "and the entries after it are not in the recorded head"}
	case head.count != int64(n):
		return st, &AuditBroken{Problem: fmt.Sprintf("holds %d entries, the recorded head %d: entries were removed and the log written again after", n, head.count)}
	default:
		return st, nil
	}
	recorded, err := s.recordAuditHead(ctx, raw, found, int64(n), lastID, c.last)
	st.HeadRecorded = recorded
	return st, err
}

// auditChain is what a walk of the audit log found.
type auditChain struct {
	n      int
	lastID int64
	last   []byte // the last entry's hash
	// headHash is the hash of the entry the recorded head names.
	headHash []byte
	// sealedByThis: an entry was written by this version, which always
	// writes a sealed head with it.
	sealedByThis bool
}

// walkAudit reads the audit log in order and checks that no entry is
// missing and that each entry's seal holds over the one before; headID is
// the entry the recorded head names, when found. On an error, the chain
// holds the entries checked until then.
func (s *Store) walkAudit(ctx context.Context, found bool, headID int64) (auditChain, error) {
	var c auditChain
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, account, action, outcome, detail, hash FROM audit_log ORDER BY id`)
	if err != nil {
		return c, fmt.Errorf("read audit log: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e AuditEvent
		var at int64
		var h []byte
		if err := rows.Scan(&e.ID, &at, &e.Actor, &e.Account, &e.Action, &e.Outcome, &e.Detail, &h); err != nil {
			return c, fmt.Errorf("read audit log: %w", err)
		}
		e.At = time.UnixMilli(at)
		if e.ID != c.lastID+1 {
			return c, &AuditBroken{ID: c.lastID + 1, Problem: "was removed"}
		}
		if h == nil {
			return c, &AuditBroken{ID: e.ID, Problem: "was not written by rotator (no seal)"}
		}
		switch {
		case hmac.Equal(h, s.auditMAC(c.last, e)):
			c.sealedByThis = true
		case hmac.Equal(h, s.auditMACv1(c.last, e)):
		default:
			return c, &AuditBroken{ID: e.ID, Problem: "was altered"}
		}
		if found && e.ID == headID {
			c.headHash = h
		}
		c.last, c.lastID = h, e.ID
		c.n++
	}
	return c, rows.Err()
}

// recordAuditHead seals the head of a chain just verified, unless the log
// or the head moved meanwhile (another process wrote an entry, and with it
// a sealed head).
func (s *Store) recordAuditHead(ctx context.Context, old []byte, found bool, count, lastID int64, hash []byte) (bool, error) {
	recorded := false
	err := s.tx(ctx, func(tx txn) error {
		raw, nowFound, err := readAuditHead(ctx, tx)
		if err != nil {
			return err
		}
		var maxID sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT max(id) FROM audit_log`).Scan(&maxID); err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		if nowFound != found || !bytes.Equal(raw, old) || maxID.Int64 != lastID {
			return nil
		}
		recorded = true
		if err := writeAuditHead(ctx, tx, s.encodeAuditHead(count, lastID, hash)); err != nil {
			return err
		}
		return s.markSealedAudit(ctx, tx)
	})
	return recorded, err
}

// markSealedAudit records, in the vault's key check, that its audit log
// now always has a sealed head (once, for a vault of an earlier version):
// from then on a head removed with every entry is caught.
func (s *Store) markSealedAudit(ctx context.Context, tx txn) error {
	if s.sealedAudit.Load() {
		return nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE vault_meta SET value = ? WHERE key = 'key_check'`, s.sealer.KeyCheckSealedAudit()); err != nil {
		return fmt.Errorf("record the sealed audit head: %w", err)
	}
	s.sealedAudit.Store(true)
	return nil
}

// SetCookies stores the account's browser cookies (an opaque, sealed blob).
func (s *Store) SetCookies(ctx context.Context, name string, cookies []byte) error {
	return s.tx(ctx, func(tx txn) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM accounts WHERE name = ?`, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("%w: %s", ErrNotFound, name)
		}
		if err != nil {
			return fmt.Errorf("store cookies of %s: %w", name, err)
		}
		// A run that lost its lease must not overwrite the state of the
		// run that took over (a trust cookie an operator just earned).
		if err := fence(ctx, tx, name); err != nil {
			return err
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
