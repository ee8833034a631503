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
}

// SchemaVersion is the schema version this binary writes.
func SchemaVersion() int { return len(migrations) }

// migrate applies the missing migrations, each in its own immediate
// transaction, so that concurrent openers serialise and none applies a
// version twice.
func (s *Store) migrate(ctx context.Context) error {
	for {
		done, err := s.migrateOne(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
	}
}

func (s *Store) migrateOne(ctx context.Context) (done bool, err error) {
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
		return nil
	})
	return done, err
}
