package store

import (
	"context"
	"crypto/hmac"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// One console across workers: what any worker's console needs to know of
// the others lives here, in the vault they share.
//
//   - console_sessions: an operator signed in on one worker is signed in on
//     all of them (the cookie's value is kept only as its SHA-256).
//   - held_pages: which worker holds an account's page for an operator.
//     The page itself lives in that worker's Chromium; another worker's
//     console relays the live view and the operator's decision to it.
//   - peers: where each worker's console is reached by the others.
//
// A session and an advertised address carry an HMAC under a key derived
// from the master key, checked on every read: someone who can write the
// database but has not the key can neither sign in by adding a session
// (or changing one's operator or expiry) nor point the relay of the
// operator's live view and decisions at a server of theirs.
//
// None of it is copied by CopyTo: it belongs to running processes.

// ConsoleSession is a signed-in console browser.
type ConsoleSession struct {
	Operator string
	// TokenHash is the access token it signed in with: replacing the
	// token ends the sessions made with the old one.
	TokenHash []byte
	Expires   time.Time
}

// ErrNoSession is a cookie with no live session behind it.
var ErrNoSession = errors.New("no such console session")

// AddConsoleSession records a sign-in under the SHA-256 of its cookie, and
// prunes the sessions expired at now (sign-ins are rare).
func (s *Store) AddConsoleSession(ctx context.Context, idHash []byte, cs ConsoleSession, now time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE expires_at < ?`, millis(now)); err != nil {
		return fmt.Errorf("prune console sessions: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO console_sessions (id_hash, operator, token_hash, expires_at, mac) VALUES (?, ?, ?, ?, ?)`,
		idHash, cs.Operator, cs.TokenHash, millis(cs.Expires), s.sessionMAC(idHash, cs.Operator, cs.TokenHash, millis(cs.Expires))); err != nil {
		return fmt.Errorf("record the console session: %w", err)
	}
	return nil
}

// ConsoleSessionByHash returns the session whose cookie hashes to idHash,
// or ErrNoSession when there is none or it expired at now.
func (s *Store) ConsoleSessionByHash(ctx context.Context, idHash []byte, now time.Time) (ConsoleSession, error) {
	var cs ConsoleSession
	var exp int64
	var mac []byte
	err := s.db.QueryRowContext(ctx, `SELECT operator, token_hash, expires_at, mac FROM console_sessions WHERE id_hash = ?`, idHash).
		Scan(&cs.Operator, &cs.TokenHash, &exp, &mac)
	if errors.Is(err, sql.ErrNoRows) {
		return cs, ErrNoSession
	}
	if err != nil {
		return cs, fmt.Errorf("read the console session: %w", err)
	}
	if !hmac.Equal(mac, s.sessionMAC(idHash, cs.Operator, cs.TokenHash, exp)) {
		// Written or changed without the key (or before sessions had
		// one): no session.
		return ConsoleSession{}, ErrNoSession
	}
	cs.Expires = time.UnixMilli(exp)
	if now.After(cs.Expires) {
		return cs, ErrNoSession
	}
	return cs, nil
}

// sessionMAC binds a session row's fields under the master key.
func (s *Store) sessionMAC(idHash []byte, operator string, tokenHash []byte, expires int64) []byte {
	return s.sealer.MAC([]byte("rotator console session v1"), idHash, []byte(operator), tokenHash, []byte(strconv.FormatInt(expires, 10)))
}

// peerURLMAC binds a worker's advertised address to its holder id under
// the master key.
func (s *Store) peerURLMAC(holder, url string) []byte {
	return s.sealer.MAC([]byte("rotator peer address v1"), []byte(holder), []byte(url))
}

// RemoveConsoleSession ends a session (signed out, or its token replaced).
func (s *Store) RemoveConsoleSession(ctx context.Context, idHash []byte) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM console_sessions WHERE id_hash = ?`, idHash); err != nil {
		return fmt.Errorf("end the console session: %w", err)
	}
	return nil
}

// HeldPage is a page a worker holds for an operator, as every worker sees
// it.
type HeldPage struct {
	Account string
	// Holder is the worker's holder id (HolderID).
	Holder    string
	Kind      string // challenge or session
	RunID     int64
	Since     time.Time
	Until     time.Time
	Challenge string // what the page shows, for the console
	// HolderDead is set when the worker holding the page is known dead:
	// the page is gone with it.
	HolderDead bool
	// Peer is where the holding worker's console is reached ("" when it
	// advertised none, or when the address in the vault is not one it
	// advertised: PeerForged).
	Peer string
	// PeerForged says the vault gives an address for the holding worker
	// that it did not advertise (its HMAC does not check): written into
	// the database by someone without the master key, or by an older
	// rotator. It is never dialled.
	PeerForged bool
}

// RecordHeld says this store's holder holds the account's page.
func (s *Store) RecordHeld(ctx context.Context, p HeldPage) error {
	holder, err := s.holderID()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO held_pages (account, holder, kind, run_id, since, until, challenge)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account) DO UPDATE SET holder = excluded.holder, kind = excluded.kind, run_id = excluded.run_id,
			since = excluded.since, until = excluded.until, challenge = excluded.challenge`,
		p.Account, holder, p.Kind, p.RunID, millis(p.Since), millis(p.Until), p.Challenge); err != nil {
		return fmt.Errorf("record the held page of %s: %w", p.Account, err)
	}
	return nil
}

// ForgetHeld says this store's holder no longer holds the page of the run
// (a later hold of the account, by any worker, is left alone).
func (s *Store) ForgetHeld(ctx context.Context, account string, runID int64) error {
	holder, err := s.holderID()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM held_pages WHERE account = ? AND holder = ? AND run_id = ?`,
		account, holder, runID); err != nil {
		return fmt.Errorf("forget the held page of %s: %w", account, err)
	}
	return nil
}

// HeldPages lists the pages held by every worker, oldest first, each with
// whether its worker is dead and where its console is reached. A dead
// worker's row stays (the console says the page is lost) until the account
// is held again or its flag is cleared.
func (s *Store) HeldPages(ctx context.Context) ([]HeldPage, error) {
	return s.heldPages(ctx, ``)
}

// HeldPageOf returns the account's held page, or false.
func (s *Store) HeldPageOf(ctx context.Context, account string) (HeldPage, bool, error) {
	ps, err := s.heldPages(ctx, `WHERE h.account = ?`, account)
	if err != nil || len(ps) == 0 {
		return HeldPage{}, false, err
	}
	return ps[0], true, nil
}

// heldPages reads the held pages that where (with args) selects.
func (s *Store) heldPages(ctx context.Context, where string, args ...any) ([]HeldPage, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT h.account, h.holder, h.kind, h.run_id, h.since, h.until, h.challenge, coalesce(p.url, ''), p.mac
		FROM held_pages h LEFT JOIN peers p ON p.holder = h.holder `+where+` ORDER BY h.since, h.account`, args...)
	if err != nil {
		return nil, fmt.Errorf("list held pages: %w", err)
	}
	defer rows.Close()
	var out []HeldPage
	for rows.Next() {
		var p HeldPage
		var since, until int64
		var mac []byte
		if err := rows.Scan(&p.Account, &p.Holder, &p.Kind, &p.RunID, &since, &until, &p.Challenge, &p.Peer, &mac); err != nil {
			return nil, fmt.Errorf("list held pages: %w", err)
		}
		if p.Peer != "" && !hmac.Equal(mac, s.peerURLMAC(p.Holder, p.Peer)) {
			p.Peer, p.PeerForged = "", true
		}
		p.Since, p.Until = time.UnixMilli(since), time.UnixMilli(until)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list held pages: %w", err)
	}
	rows.Close() // before holderDead's own queries
	for i := range out {
		out[i].HolderDead = s.holderDead(out[i].Holder)
	}
	return out, nil
}

// DropHeld removes the account's held-page row whatever its holder: for a
// dead holder's row once an operator dealt with the account.
func (s *Store) DropHeld(ctx context.Context, account string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM held_pages WHERE account = ?`, account); err != nil {
		return fmt.Errorf("forget the held page of %s: %w", account, err)
	}
	return nil
}

// Advertise records where this worker's console is reached by the other
// workers, and forgets the addresses of dead workers.
func (s *Store) Advertise(ctx context.Context, url string) error {
	holder, err := s.holderID()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO peers (holder, url, updated_at, mac) VALUES (?, ?, ?, ?)
		ON CONFLICT (holder) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at, mac = excluded.mac`,
		holder, url, millis(time.Now()), s.peerURLMAC(holder, url)); err != nil {
		return fmt.Errorf("advertise the console: %w", err)
	}
	rows, err := s.db.QueryContext(ctx, `SELECT holder FROM peers WHERE holder <> ?`, holder)
	if err != nil {
		return fmt.Errorf("list peers: %w", err)
	}
	var others []string
	for rows.Next() {
		var h string
		if rows.Scan(&h) == nil {
			others = append(others, h)
		}
	}
	rows.Close()
	for _, h := range others {
		if s.holderDead(h) {
			if _, err := s.db.ExecContext(ctx, `DELETE FROM peers WHERE holder = ? AND NOT EXISTS (SELECT 1 FROM held_pages WHERE holder = ?)`, h, h); err != nil {
				return fmt.Errorf("forget a dead peer: %w", err)
			}
		}
	}
	return nil
}

// PeerMAC authenticates a request between workers under a key derived
// from the master key, which every worker of the vault has and nothing
// else does.
func (s *Store) PeerMAC(parts ...[]byte) []byte {
	return s.sealer.MAC(append([][]byte{[]byte("rotator peer request v1")}, parts...)...)
}
