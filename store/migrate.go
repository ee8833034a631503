package store

import (
	"context"
	"database/sql"
	"fmt"
)

// migrations[i] takes the schema from version i to i+1. Append only: never
// edit a migration that has shipped.
var migrations = []string{
	// 1: accounts, secrets, history, cookies, audit log.
	`
CREATE TABLE vault_meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
) STRICT;

CREATE TABLE accounts (
	id                   INTEGER PRIMARY KEY,
	name                 TEXT NOT NULL UNIQUE,
	template             TEXT NOT NULL,
	username             TEXT NOT NULL,
	site_url             TEXT NOT NULL DEFAULT '',
	schedule             TEXT NOT NULL DEFAULT '',
	state                TEXT NOT NULL DEFAULT 'active',
	password             BLOB NOT NULL,            -- sealed, AD (account, name, password)
	password_set_at      INTEGER NOT NULL,         -- unix ms
	pending_password     BLOB,                     -- sealed, AD (account, name, pending)
	pending_since        INTEGER,
	totp_secret          BLOB,                     -- sealed, AD (account, name, totp); NULL: no TOTP
	totp_algorithm       TEXT NOT NULL DEFAULT '',
	totp_digits          INTEGER NOT NULL DEFAULT 0,
	totp_period_s        INTEGER NOT NULL DEFAULT 0,
	totp_issuer          TEXT NOT NULL DEFAULT '',
	totp_label           TEXT NOT NULL DEFAULT '',
	totp_min_validity_ms INTEGER NOT NULL DEFAULT 0, -- 0: the default
	totp_last_step       INTEGER,                  -- replay guard
	history_seq          INTEGER NOT NULL DEFAULT 0,
	created_at           INTEGER NOT NULL,
	updated_at           INTEGER NOT NULL
) STRICT;

CREATE TABLE password_history (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	password   BLOB NOT NULL,   -- sealed, AD (account, name, history, seq)
	set_at     INTEGER NOT NULL, -- when this password became current
	retired_at INTEGER NOT NULL, -- when it stopped being current
	reason     TEXT NOT NULL,    -- why it was replaced
	PRIMARY KEY (account_id, seq)
) STRICT;
CREATE INDEX password_history_retired ON password_history(account_id, retired_at);

CREATE TABLE browser_state (
	account_id INTEGER PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	cookies    BLOB NOT NULL,   -- sealed, AD (account, name, cookies)
	updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_log (
	id      INTEGER PRIMARY KEY,
	at      INTEGER NOT NULL,
	actor   TEXT NOT NULL,
	account TEXT NOT NULL DEFAULT '',
	action  TEXT NOT NULL,
	detail  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE INDEX audit_log_account ON audit_log(account, at);
`,
	// 2: a proxy per account (sites challenge sign-ins whose address keeps
	// changing).
	`ALTER TABLE accounts ADD COLUMN proxy TEXT NOT NULL DEFAULT '';`,
	// 3: rotation records, cross-process account locks, flags, rate-limit
	// settings, password changes told apart from vault edits, and a
	// hash-chained, append-only audit log.
	`
ALTER TABLE accounts ADD COLUMN flag_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE accounts ADD COLUMN flagged_at INTEGER;
ALTER TABLE accounts ADD COLUMN max_changes_24h INTEGER;   -- NULL: the configured default
ALTER TABLE accounts ADD COLUMN limit_override INTEGER NOT NULL DEFAULT 0;
ALTER TABLE password_history ADD COLUMN changed_on_site INTEGER NOT NULL DEFAULT 0;

CREATE TABLE runs (
	id             INTEGER PRIMARY KEY,
	account        TEXT NOT NULL,
	kind           TEXT NOT NULL,             -- rotate, verify, recover
	owner          TEXT NOT NULL DEFAULT '',
	started_at     INTEGER NOT NULL,
	finished_at    INTEGER,
	outcome        TEXT NOT NULL,             -- running, succeeded, failed, paused, needs_operator, refused
	flow           TEXT NOT NULL DEFAULT '',
	step           TEXT NOT NULL DEFAULT '',
	reason         TEXT NOT NULL DEFAULT '',
	challenge_kind TEXT NOT NULL DEFAULT '',
	challenge_url  TEXT NOT NULL DEFAULT '',
	screenshot     TEXT NOT NULL DEFAULT '',
	artifacts      TEXT NOT NULL DEFAULT '',
	steps          TEXT NOT NULL DEFAULT '[]' -- JSON: flow, step, kind, matched, ms, ok
) STRICT;
CREATE INDEX runs_account ON runs(account, id);

CREATE TABLE account_locks (
	account     TEXT PRIMARY KEY,
	owner       TEXT NOT NULL,
	host        TEXT NOT NULL,
	pid         INTEGER NOT NULL,
	acquired_at INTEGER NOT NULL,
	expires_at  INTEGER NOT NULL
) STRICT;

ALTER TABLE audit_log ADD COLUMN outcome TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN hash BLOB;  -- HMAC chain; filled in by the store, which holds the key
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
	WHEN OLD.hash IS NOT NULL
	BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
	BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
`,
	// 4: the scheduler's state: the next due time survives restarts, and
	// failures in a row drive the product's backoff.
	`
ALTER TABLE accounts ADD COLUMN next_due_at INTEGER;
ALTER TABLE accounts ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN hold_reason TEXT NOT NULL DEFAULT '';
`,
	// 5: every candidate password a rotation stored (kept until the run
	// ends proven), and fencing tokens on account leases.
	`
CREATE TABLE candidates (
	account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	seq        INTEGER NOT NULL,
	password   BLOB NOT NULL,   -- sealed, AD (account, name, candidate, seq)
	state      TEXT NOT NULL CHECK (state IN ('pending', 'submitted', 'refused')),
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (account_id, seq)
) STRICT;
ALTER TABLE accounts ADD COLUMN candidate_seq INTEGER NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN lease_token INTEGER NOT NULL DEFAULT 0; -- the last fencing token handed out
ALTER TABLE account_locks ADD COLUMN token INTEGER NOT NULL DEFAULT 0;
`,
	// 6: a lease names its holder (an open store's lock file), so that a
	// lease left by a dead process is taken over at once.
	`
ALTER TABLE account_locks ADD COLUMN holder TEXT NOT NULL DEFAULT '';
`,
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

// migrate applies the missing migrations, each in its own immediate
// transaction, so that concurrent openers serialise and none applies a
// version twice. Steps that need the master key run after their migration.
func (s *Store) migrate(ctx context.Context) error {
	for {
		applied, done, err := s.migrateOne(ctx)
		if err != nil {
			return err
		}
		if applied == 3 && s.sealer != nil {
			if err := s.sealUnchained(ctx); err != nil {
				return fmt.Errorf("chain the audit log: %w", err)
			}
		}
		if done {
			return nil
		}
	}
}

func (s *Store) migrateOne(ctx context.Context) (applied int, done bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		var v int
		if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, s.path, err)
		}
		if v > len(migrations) {
			return fmt.Errorf("vault %s has schema version %d, newer than this rotator understands (%d): upgrade rotator", s.path, v, len(migrations))
		}
		if v == len(migrations) {
			done = true
			return nil
		}
		if _, err := tx.ExecContext(ctx, migrations[v]); err != nil {
			return fmt.Errorf("migrate vault schema to version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v+1)); err != nil {
			return fmt.Errorf("migrate vault schema to version %d: %w", v+1, err)
		}
		applied = v + 1
		return nil
	})
	return applied, done, err
}
