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
	// 7: lease holders' heartbeats (used on PostgreSQL, where a holder's
	// lock can be let go of while its process lives; see pgholder.go).
	`
CREATE TABLE holders (
	id           TEXT PRIMARY KEY,
	heartbeat_at INTEGER NOT NULL -- the server's clock, unix ms
) STRICT;
`,
	// 8: one console across workers (peers.go): console sign-ins, the
	// pages workers hold for operators, and where each worker's console
	// is reached; and the rotations running against each site, for
	// serve.per_site across workers (sites.go).
	`
CREATE TABLE console_sessions (
	id_hash    BLOB PRIMARY KEY, -- SHA-256 of the cookie's value
	operator   TEXT NOT NULL,
	token_hash BLOB NOT NULL,    -- the access token it signed in with
	expires_at INTEGER NOT NULL
) STRICT;
CREATE TABLE held_pages (
	account    TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	kind       TEXT NOT NULL,
	run_id     INTEGER NOT NULL,
	since      INTEGER NOT NULL,
	until      INTEGER NOT NULL,
	challenge  TEXT NOT NULL DEFAULT ''
) STRICT;
CREATE TABLE peers (
	holder     TEXT PRIMARY KEY,
	url        TEXT NOT NULL,
	updated_at INTEGER NOT NULL
) STRICT;
CREATE TABLE site_slots (
	site       TEXT NOT NULL,
	account    TEXT NOT NULL,
	holder     TEXT NOT NULL,
	since      INTEGER NOT NULL,
	PRIMARY KEY (site, account)
) STRICT;
`,
	// 9: a console session, a worker's advertised address and the console
	// token's hash carry an HMAC under the master key (peers.go,
	// console.go; the token's is added in the migration's transaction):
	// whoever writes the database without the key can neither sign in
	// with a token or a session of theirs nor point another worker's
	// relay at a server of theirs. Sessions and addresses written before
	// do not count: their operators sign in again, and each worker
	// advertises afresh when it starts. And site_slots, for a vault that
	// reached version 8 before site_slots was added to it.
	`
ALTER TABLE console_sessions ADD COLUMN mac BLOB;
ALTER TABLE peers ADD COLUMN mac BLOB;
CREATE TABLE IF NOT EXISTS site_slots (
	site       TEXT NOT NULL,
	account    TEXT NOT NULL,
	holder     TEXT NOT NULL,
	since      INTEGER NOT NULL,
	PRIMARY KEY (site, account)
) STRICT;
`,
}

// postgresBase is the PostgreSQL schema at version postgresBaseVersion:
// SQLite's migrations 1 to 6 in one, in PostgreSQL's types (BIGINT for
// INTEGER, BYTEA for BLOB, identity columns for INTEGER PRIMARY KEY, a
// trigger function for the audit log's guards). A PostgreSQL vault starts
// there; a migration after it is written for both engines
// (postgresMigrations[v] takes PostgreSQL from v to v+1).
const postgresBaseVersion = 6

const postgresBase = `
CREATE TABLE vault_schema (
	version BIGINT NOT NULL
);
CREATE TABLE vault_meta (
	key   TEXT PRIMARY KEY,
	value BYTEA NOT NULL
);
CREATE TABLE accounts (
	id                   BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	name                 TEXT NOT NULL UNIQUE,
	template             TEXT NOT NULL,
	username             TEXT NOT NULL,
	site_url             TEXT NOT NULL DEFAULT '',
	schedule             TEXT NOT NULL DEFAULT '',
	state                TEXT NOT NULL DEFAULT 'active',
	password             BYTEA NOT NULL,
	password_set_at      BIGINT NOT NULL,
	pending_password     BYTEA,
	pending_since        BIGINT,
	totp_secret          BYTEA,
	totp_algorithm       TEXT NOT NULL DEFAULT '',
	totp_digits          BIGINT NOT NULL DEFAULT 0,
	totp_period_s        BIGINT NOT NULL DEFAULT 0,
	totp_issuer          TEXT NOT NULL DEFAULT '',
	totp_label           TEXT NOT NULL DEFAULT '',
	totp_min_validity_ms BIGINT NOT NULL DEFAULT 0,
	totp_last_step       BIGINT,
	history_seq          BIGINT NOT NULL DEFAULT 0,
	created_at           BIGINT NOT NULL,
	updated_at           BIGINT NOT NULL,
	proxy                TEXT NOT NULL DEFAULT '',
	flag_reason          TEXT NOT NULL DEFAULT '',
	flagged_at           BIGINT,
	max_changes_24h      BIGINT,
	limit_override       BIGINT NOT NULL DEFAULT 0,
	next_due_at          BIGINT,
	failures             BIGINT NOT NULL DEFAULT 0,
	hold_reason          TEXT NOT NULL DEFAULT '',
	candidate_seq        BIGINT NOT NULL DEFAULT 0,
	lease_token          BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE password_history (
	account_id      BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	seq             BIGINT NOT NULL,
	password        BYTEA NOT NULL,
	set_at          BIGINT NOT NULL,
	retired_at      BIGINT NOT NULL,
	reason          TEXT NOT NULL,
	changed_on_site BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (account_id, seq)
);
CREATE INDEX password_history_retired ON password_history(account_id, retired_at);
CREATE TABLE browser_state (
	account_id BIGINT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
	cookies    BYTEA NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE audit_log (
	id      BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	at      BIGINT NOT NULL,
	actor   TEXT NOT NULL,
	account TEXT NOT NULL DEFAULT '',
	action  TEXT NOT NULL,
	detail  TEXT NOT NULL DEFAULT '',
	outcome TEXT NOT NULL DEFAULT '',
	hash    BYTEA
);
CREATE INDEX audit_log_account ON audit_log(account, at);
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' OR OLD.hash IS NOT NULL THEN
		RAISE EXCEPTION 'the audit log is append-only';
	END IF;
	RETURN NEW;
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TABLE runs (
	id             BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	account        TEXT NOT NULL,
	kind           TEXT NOT NULL,
	owner          TEXT NOT NULL DEFAULT '',
	started_at     BIGINT NOT NULL,
	finished_at    BIGINT,
	outcome        TEXT NOT NULL,
	flow           TEXT NOT NULL DEFAULT '',
	step           TEXT NOT NULL DEFAULT '',
	reason         TEXT NOT NULL DEFAULT '',
	challenge_kind TEXT NOT NULL DEFAULT '',
	challenge_url  TEXT NOT NULL DEFAULT '',
	screenshot     TEXT NOT NULL DEFAULT '',
	artifacts      TEXT NOT NULL DEFAULT '',
	steps          TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX runs_account ON runs(account, id);
CREATE TABLE account_locks (
	account     TEXT PRIMARY KEY,
	owner       TEXT NOT NULL,
	host        TEXT NOT NULL,
	pid         BIGINT NOT NULL,
	acquired_at BIGINT NOT NULL,
	expires_at  BIGINT NOT NULL,
	token       BIGINT NOT NULL DEFAULT 0,
	holder      TEXT NOT NULL DEFAULT ''
);
CREATE TABLE candidates (
	account_id BIGINT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
	seq        BIGINT NOT NULL,
	password   BYTEA NOT NULL,
	state      TEXT NOT NULL CHECK (state IN ('pending', 'submitted', 'refused')),
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	PRIMARY KEY (account_id, seq)
);
INSERT INTO vault_schema (version) VALUES (0);
`

// postgresMigrations[v], for v at or after postgresBaseVersion, takes a
// PostgreSQL vault from v to v+1; it is empty until a migration after the
// base ships.
var postgresMigrations = map[int]string{
	6: `CREATE TABLE holders (
	id           TEXT PRIMARY KEY,
	heartbeat_at BIGINT NOT NULL
);`,
	7: `CREATE TABLE console_sessions (
	id_hash    BYTEA PRIMARY KEY,
	operator   TEXT NOT NULL,
	token_hash BYTEA NOT NULL,
	expires_at BIGINT NOT NULL
);
CREATE TABLE held_pages (
	account    TEXT PRIMARY KEY,
	holder     TEXT NOT NULL,
	kind       TEXT NOT NULL,
	run_id     BIGINT NOT NULL,
	since      BIGINT NOT NULL,
	until      BIGINT NOT NULL,
	challenge  TEXT NOT NULL DEFAULT ''
);
CREATE TABLE peers (
	holder     TEXT PRIMARY KEY,
	url        TEXT NOT NULL,
	updated_at BIGINT NOT NULL
);
CREATE TABLE site_slots (
	site       TEXT NOT NULL,
	account    TEXT NOT NULL,
	holder     TEXT NOT NULL,
	since      BIGINT NOT NULL,
	PRIMARY KEY (site, account)
);`,
	8: `ALTER TABLE console_sessions ADD COLUMN mac BYTEA;
ALTER TABLE peers ADD COLUMN mac BYTEA;
CREATE TABLE IF NOT EXISTS site_slots (
	site       TEXT NOT NULL,
	account    TEXT NOT NULL,
	holder     TEXT NOT NULL,
	since      BIGINT NOT NULL,
	PRIMARY KEY (site, account)
);`,
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
	err = s.tx(ctx, func(tx txn) error {
		v, err := s.schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		if v > len(migrations) {
			return fmt.Errorf("vault %s has schema version %d, newer than this rotator understands (%d): upgrade rotator", Redact(s.path), v, len(migrations))
		}
		if v == len(migrations) {
			done = true
			return nil
		}
		next, m := v+1, migrations[v]
		if s.db.d.postgres {
			next, m = v+1, postgresMigrations[v]
			if v == 0 {
				next, m = postgresBaseVersion, postgresBase
			}
		}
		if _, err := tx.ExecContext(ctx, m); err != nil {
			return fmt.Errorf("migrate vault schema to version %d: %w", next, err)
		}
		if next == 9 && s.sealer != nil {
			// The token hash gets its HMAC with the migration (a new
			// vault has no token yet, nor a sealer at this point).
			if err := s.sealConsoleToken(ctx, tx); err != nil {
				return fmt.Errorf("migrate vault schema to version %d: the console token: %w", next, err)
			}
		}
		if err := s.setSchemaVersion(ctx, tx, next); err != nil {
			return fmt.Errorf("migrate vault schema to version %d: %w", next, err)
		}
		applied = next
		return nil
	})
	return applied, done, err
}

// schemaVersion is the vault's schema version: 0 for an empty database.
func (s *Store) schemaVersion(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (int, error) {
	var v int
	if !s.db.d.postgres {
		if err := q.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
			return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, Redact(s.path), err)
		}
		return v, nil
	}
	var exists bool
	if err := q.QueryRowContext(ctx, `SELECT to_regclass('vault_schema') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, Redact(s.path), err)
	}
	if !exists {
		return 0, nil
	}
	if err := q.QueryRowContext(ctx, `SELECT version FROM vault_schema`).Scan(&v); err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrCorrupt, Redact(s.path), err)
	}
	return v, nil
}

func (s *Store) setSchemaVersion(ctx context.Context, tx txn, v int) error {
	if s.db.d.postgres {
		_, err := tx.ExecContext(ctx, `UPDATE vault_schema SET version = ?`, v)
		return err
	}
	_, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v))
	return err
}
