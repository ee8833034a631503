package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/secret"
)

// State is an account's place in the rotation life cycle.
type State string

// The states an account can be in.
const (
	StateActive        State = "active"         // rotations run on schedule
	StateRunning       State = "running"        // a rotation holds the account
	StatePaused        State = "paused"         // a challenge waits for an operator
	StateFailed        State = "failed"         // the last rotation failed; backoff applies
	StateNeedsOperator State = "needs_operator" // nothing automatic touches it
	StateDisabled      State = "disabled"       // an administrator turned rotation off
)

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case StateActive, StateRunning, StatePaused, StateFailed, StateNeedsOperator, StateDisabled:
		return true
	}
	return false
}

// TOTP is an account's TOTP key and its fresh-code policy.
type TOTP struct {
	Key otp.Key
	// MinValidity overrides otp.DefaultMinValidity when non-zero.
	MinValidity time.Duration
}

// Account is everything the vault holds about an account except its
// passwords.
type Account struct {
	ID       int64
	Name     string
	Template string
	Username string
	// SiteURL overrides the template's base URL when set.
	SiteURL string
	// Schedule is a cron spec; empty means the configured default.
	Schedule string
	// Proxy is the browser's proxy URL for this account; empty: the
	// template's, if any.
	Proxy string
	State State
	// TOTP is nil when the account has no second factor.
	TOTP *TOTP
	// PasswordSetAt is when the current password became current.
	PasswordSetAt time.Time
	// HasPending is true while a pending password awaits promotion.
	HasPending   bool
	PendingSince time.Time
	// LastChange is when the password last changed, zero if never since the
	// account was added.
	LastChange time.Time
	// FlagReason and FlaggedAt explain a paused or needs_operator state.
	FlagReason string
	FlaggedAt  time.Time
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// NewAccount is what AddAccount needs.
type NewAccount struct {
	Account
	Password secret.String
}

// ValidateName checks an account name: 1 to 64 characters of letters,
// digits, '.', '_', '-' and '@', starting with a letter or digit. Names show
// up in file paths, URLs and logs, so they are kept plain.
func ValidateName(name string) error {
	if name == "" {
		return errors.New("account name is empty")
	}
	if len(name) > 64 {
		return fmt.Errorf("account name is %d characters, at most 64 allowed", len(name))
	}
	for i, r := range name {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9'
		if i > 0 {
			ok = ok || r == '.' || r == '_' || r == '-' || r == '@'
		}
		if !ok {
			return fmt.Errorf("account name %q: character %q at position %d not allowed (letters, digits, '.', '_', '-', '@'; first a letter or digit)", name, r, i+1)
		}
	}
	return nil
}

func (a NewAccount) validate() error {
	if err := ValidateName(a.Name); err != nil {
		return err
	}
	if strings.TrimSpace(a.Template) == "" {
		return fmt.Errorf("account %s: template is empty", a.Name)
	}
	if a.Username == "" {
		return fmt.Errorf("account %s: username is empty", a.Name)
	}
	if a.Password.IsZero() {
		return fmt.Errorf("account %s: password is empty", a.Name)
	}
	if a.State != "" && !a.State.Valid() {
		return fmt.Errorf("account %s: unknown state %q", a.Name, a.State)
	}
	if a.TOTP != nil {
		if err := a.TOTP.Key.Validate(); err != nil {
			return fmt.Errorf("account %s: %w", a.Name, err)
		}
		if a.TOTP.MinValidity < 0 || a.TOTP.MinValidity >= a.TOTP.Key.Period {
			return fmt.Errorf("account %s: TOTP minimum validity %v must be at least 0 and shorter than the period %v", a.Name, a.TOTP.MinValidity, a.TOTP.Key.Period)
		}
	}
	return nil
}

func adPassword(name string) secret.AD { return secret.AD{"account", name, "password"} }
func adPending(name string) secret.AD  { return secret.AD{"account", name, "pending"} }
func adTOTP(name string) secret.AD     { return secret.AD{"account", name, "totp"} }
func adCookies(name string) secret.AD  { return secret.AD{"account", name, "cookies"} }
func adHistory(name string, seq int64) secret.AD {
	return secret.AD{"account", name, "history", strconv.FormatInt(seq, 10)}
}

// AddAccount stores a new account with its current password.
func (s *Store) AddAccount(ctx context.Context, a NewAccount) error {
	return s.ImportAccounts(ctx, []NewAccount{a})
}

// ImportAccounts adds several accounts in one transaction: all or none.
func (s *Store) ImportAccounts(ctx context.Context, accounts []NewAccount) error {
	seen := map[string]bool{}
	for _, a := range accounts {
		if err := a.validate(); err != nil {
			return err
		}
		if seen[a.Name] {
			return fmt.Errorf("%w: %s appears twice", ErrDuplicate, a.Name)
		}
		seen[a.Name] = true
	}
	now := millis(s.now())
	return s.tx(ctx, func(tx txn) error {
		for _, a := range accounts {
			var exists int
			err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE name = ?`, a.Name).Scan(&exists)
			if err != nil {
				return fmt.Errorf("add account %s: %w", a.Name, err)
			}
			if exists > 0 {
				return fmt.Errorf("%w: %s", ErrDuplicate, a.Name)
			}
			state := a.State
			if state == "" {
				state = StateActive
			}
			var (
				totpSecret         []byte
				alg, issuer, label string
				digits, periodS    int64
				minValidity        int64
			)
			if a.TOTP != nil {
				totpSecret = s.sealer.SealString(a.TOTP.Key.Secret, adTOTP(a.Name))
				alg = string(a.TOTP.Key.Algorithm)
				digits = int64(a.TOTP.Key.Digits)
				periodS = int64(a.TOTP.Key.Period / time.Second)
				issuer, label = a.TOTP.Key.Issuer, a.TOTP.Key.Label
				minValidity = a.TOTP.MinValidity.Milliseconds()
			}
			_, err = tx.ExecContext(ctx, `
INSERT INTO accounts (name, template, username, site_url, schedule, proxy, state, password, password_set_at,
	totp_secret, totp_algorithm, totp_digits, totp_period_s, totp_issuer, totp_label, totp_min_validity_ms,
	created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				a.Name, a.Template, a.Username, a.SiteURL, a.Schedule, a.Proxy, string(state),
				s.sealer.SealString(a.Password, adPassword(a.Name)), now,
				totpSecret, alg, digits, periodS, issuer, label, minValidity,
				now, now)
			if err != nil {
				return fmt.Errorf("add account %s: %w", a.Name, err)
			}
		}
		return nil
	})
}

const accountColumns = `a.id, a.name, a.template, a.username, a.site_url, a.schedule, a.proxy, a.state,
	a.password_set_at, a.pending_password IS NOT NULL, a.pending_since,
	a.totp_secret, a.totp_algorithm, a.totp_digits, a.totp_period_s, a.totp_issuer, a.totp_label, a.totp_min_validity_ms,
	(SELECT max(retired_at) FROM password_history h WHERE h.account_id = a.id),
	a.flag_reason, a.flagged_at, a.created_at, a.updated_at`

type scanner interface{ Scan(...any) error }

func (s *Store) scanAccount(row scanner) (Account, error) {
	var (
		a                                 Account
		state                             string
		setAt, created, updated           int64
		pendingSince, lastChange, flagged sql.NullInt64
		totpSecret                        []byte
		alg, issuer, label                string
		digits, periodS, minValidityMilli int64
	)
	err := row.Scan(&a.ID, &a.Name, &a.Template, &a.Username, &a.SiteURL, &a.Schedule, &a.Proxy, &state,
		&setAt, &a.HasPending, &pendingSince,
		&totpSecret, &alg, &digits, &periodS, &issuer, &label, &minValidityMilli,
		&lastChange, &a.FlagReason, &flagged, &created, &updated)
	if err != nil {
		return Account{}, err
	}
	a.State = State(state)
	a.PasswordSetAt = time.UnixMilli(setAt)
	a.PendingSince = fromMillis(pendingSince)
	a.LastChange = fromMillis(lastChange)
	a.FlaggedAt = fromMillis(flagged)
	a.CreatedAt = time.UnixMilli(created)
	a.UpdatedAt = time.UnixMilli(updated)
	if totpSecret != nil {
		sec, err := s.sealer.OpenString(totpSecret, adTOTP(a.Name))
		if err != nil {
			return Account{}, fmt.Errorf("account %s: TOTP secret: %w", a.Name, err)
		}
		a.TOTP = &TOTP{
			Key: otp.Key{Secret: sec, Algorithm: otp.Algorithm(alg), Digits: int(digits),
				Period: time.Duration(periodS) * time.Second, Issuer: issuer, Label: label},
			MinValidity: time.Duration(minValidityMilli) * time.Millisecond,
		}
	}
	return a, nil
}

// Account returns the named account. Its TOTP secret is decrypted; its
// passwords are not (see Password).
func (s *Store) Account(ctx context.Context, name string) (Account, error) {
	row := s.db.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE a.name = ?`, name)
	a, err := s.scanAccount(row)
	if errors.Is(err, sql.ErrNoRows) {
		return Account{}, fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	if err != nil {
		return Account{}, fmt.Errorf("read account %s: %w", name, err)
	}
	return a, nil
}

// Accounts lists every account by name.
func (s *Store) Accounts(ctx context.Context) ([]Account, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+accountColumns+` FROM accounts a ORDER BY a.name`)
	if err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	defer rows.Close()
	var out []Account
	for rows.Next() {
		a, err := s.scanAccount(rows)
		if err != nil {
			return nil, fmt.Errorf("list accounts: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list accounts: %w", err)
	}
	return out, nil
}

// DeleteAccount removes an account with its passwords, history and cookies.
//
// It refuses while a run holds the account (a live lease): a rotation in
// flight may have just changed the site's password, and only its end
// records which one works.
func (s *Store) DeleteAccount(ctx context.Context, name string) error {
	return s.tx(ctx, func(tx txn) error {
		l, found, err := readLease(ctx, tx, name)
		if err != nil {
			return fmt.Errorf("delete account %s: %w", name, err)
		}
		if found && s.live(l) {
			return fmt.Errorf("%w: %s is being rotated or checked (%s); remove it once that run ends", ErrLocked, name, l.Owner)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM account_locks WHERE account = ?`, name); err != nil {
			return fmt.Errorf("delete account %s: %w", name, err)
		}
		return updateAccount(ctx, tx, name, "delete account", `DELETE FROM accounts WHERE name = ?`)
	})
}
