// Package store is rotator's vault: one SQLite file (modernc.org/sqlite, no
// cgo) holding accounts, their current, pending and previous passwords, every
// candidate password a rotation stored, TOTP settings, browser cookies and the
// audit log.
//
// # Guarantees
//
//   - The database runs in WAL mode with synchronous=FULL: a committed
//     transaction is on disk before the call returns.
//   - Every secret field (passwords, pending password, candidates, history,
//     TOTP secret, cookies) is sealed with AES-256-GCM before it reaches SQL, with the
//     account name and field as associated data: a ciphertext copied to another
//     row or column does not open. No plaintext secret is ever handed to
//     SQLite, so none reaches the database, its WAL or its journal.
//   - An account is held by one run at a time through a lease with a fencing
//     token ([Store.LockAccount]); a run's writes made under [WithLease] fail
//     with [ErrLeaseLost] once another run took the account.
//   - A wrong master key is detected at open ([ErrWrongKey]) before anything
//     is read or written.
//   - The schema is versioned (PRAGMA user_version) and migrated forward in
//     one transaction per version; a vault newer than the binary is refused.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/rotator-pam/rotator/secret"
)

// Errors callers act on.
var (
	ErrWrongKey       = errors.New("master key does not match this vault")
	ErrNotInitialised = errors.New("vault not initialised")
	ErrExists         = errors.New("vault already exists")
	ErrNotFound       = errors.New("account not found")
	ErrDuplicate      = errors.New("account already exists")
	ErrCorrupt        = errors.New("vault database is unreadable or corrupt")
	ErrNoPending      = errors.New("account has no pending password")
	// ErrMoved is a vault file copied to PostgreSQL (MarkMoved): every
	// change since is there, so the file is not opened to rotate.
	ErrMoved = errors.New("vault moved")
)

// Store is an open vault. It is safe for concurrent use, also by several
// processes on the same file.
type Store struct {
	db     dbh
	sealer *secret.Sealer
	path   string
	now    func() time.Time
	noSync bool
	// openMoved lets a moved vault file open (OpenMoved).
	openMoved bool
	holder    holder
	// sealedAudit: the vault's key check says its audit log always has a
	// sealed head, so a missing head is a removed one.
	sealedAudit atomic.Bool
}

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock used for timestamps (tests).
func WithClock(now func() time.Time) Option { return func(s *Store) { s.now = now } }

// WithoutSync turns off the fsync at commit (synchronous=OFF). Only for
// simulations and benchmarks that write thousands of transactions and do
// not survive a power cut anyway; never for a real vault.
func WithoutSync() Option { return func(s *Store) { s.noSync = true } }

// OpenMoved lets Open open a vault file that was moved to PostgreSQL, to
// make it usable again (ReopenMoved).
func OpenMoved() Option { return func(s *Store) { s.openMoved = true } }

func dsn(path string) string {
	u := url.URL{Path: path}
	// busy_timeout first: other processes may hold the write lock briefly.
	return "file:" + u.EscapedPath() + "?mode=rw&_txlock=immediate" +
		"&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)" +
		"&_pragma=foreign_keys(ON)&_pragma=secure_delete(ON)"
}

// Create makes a new vault at path with the master key, and returns it open.
// It refuses to touch an existing file.
//
// A PostgreSQL URL (postgres://...) as path makes the vault in that
// database instead, which must hold no vault yet.
func Create(ctx context.Context, path string, key secret.MasterKey, opts ...Option) (*Store, error) {
	if IsURL(path) {
		return createPostgres(ctx, path, key, opts)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil, fmt.Errorf("%w: %s", ErrExists, path)
		}
		return nil, fmt.Errorf("create vault: %w", err)
	}
	f.Close()
	s, err := create(ctx, path, key, opts)
	if err != nil {
		os.Remove(path)
		os.Remove(path + "-wal")
		os.Remove(path + "-shm")
		return nil, err
	}
	if err := secret.SyncDir(filepath.Dir(path)); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func create(ctx context.Context, path string, key secret.MasterKey, opts []Option) (*Store, error) {
	s, err := openDB(path, opts)
	if err != nil {
		return nil, err
	}
	return s.initVault(ctx, key)
}

// initVault makes the schema, the vault's identity and key check, and the
// audit log's first head in an empty database.
func (s *Store) initVault(ctx context.Context, key secret.MasterKey) (*Store, error) {
	db := s.db
	var err error
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	vaultID := make([]byte, 16)
	rand.Read(vaultID)
	if s.sealer, err = secret.NewSealer(key, vaultID); err != nil {
		db.Close()
		return nil, err
	}
	err = s.tx(ctx, func(tx txn) error {
		for k, v := range map[string][]byte{
			"vault_id":   vaultID,
			"key_check":  s.sealer.KeyCheckSealedAudit(),
			"created_at": []byte(s.now().UTC().Format(time.RFC3339)),
		} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO vault_meta(key, value) VALUES (?, ?)`, k, v); err != nil {
				return fmt.Errorf("write vault metadata: %w", err)
			}
		}
		// The audit log starts with a sealed head of no entries, and the
		// key check says it always has one.
		s.sealedAudit.Store(true)
		return writeAuditHead(ctx, tx, s.encodeAuditHead(0, 0, nil))
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// openDB opens the database handle; nothing is read until first use.
func openDB(path string, opts []Option) (*Store, error) {
	s := &Store{path: path, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	d := dsn(path)
	if s.noSync {
		d = strings.Replace(d, "synchronous(FULL)", "synchronous(OFF)", 1)
	}
	db, err := sql.Open("sqlite", d)
	if err != nil {
		return nil, fmt.Errorf("open vault: %w", err)
	}
	s.db = dbh{db, &dialect{}}
	return s, nil
}

// Open opens an existing vault. A missing file is ErrNotInitialised, a file
// that is not a rotator vault or is damaged is ErrCorrupt, and a key that did
// not create the vault is ErrWrongKey; in every case nothing is written.
//
// A PostgreSQL URL as path opens the vault in that database: one with no
// vault is ErrNotInitialised.
func Open(ctx context.Context, path string, key secret.MasterKey, opts ...Option) (*Store, error) {
	if IsURL(path) {
		return openPostgres(ctx, path, key, opts)
	}
	fi, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s does not exist", ErrNotInitialised, path)
		}
		return nil, fmt.Errorf("open vault: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrCorrupt, path)
	}
	s, err := openDB(path, opts)
	if err != nil {
		return nil, err
	}
	return s.openVault(ctx, key)
}

// openVault checks the key and brings the schema up to date.
func (s *Store) openVault(ctx context.Context, key secret.MasterKey) (*Store, error) {
	if err := s.checkKey(ctx, key); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.checkMoved(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	if err := s.migrate(ctx); err != nil {
		s.db.Close()
		return nil, err
	}
	return s, nil
}

// checkKey reads the vault's identity and key check without writing.
func (s *Store) checkKey(ctx context.Context, key secret.MasterKey) error {
	version, err := s.schemaVersion(ctx, s.db)
	if err != nil {
		return err
	}
	if version == 0 && s.db.d.postgres {
		return fmt.Errorf("%w: %s holds no vault (rotator init --store URL)", ErrNotInitialised, Redact(s.path))
	}
	if version == 0 {
		return fmt.Errorf("%w: %s has no rotator schema", ErrCorrupt, Redact(s.path))
	}
	if version > len(migrations) {
		return fmt.Errorf("vault %s has schema version %d, newer than this rotator understands (%d): upgrade rotator", Redact(s.path), version, len(migrations))
	}
	meta := map[string][]byte{}
	rows, err := s.db.QueryContext(ctx, `SELECT key, value FROM vault_meta WHERE key IN ('vault_id', 'key_check')`)
	if err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, Redact(s.path), err)
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var v []byte
		if err := rows.Scan(&k, &v); err != nil {
			return fmt.Errorf("%w: %s: %v", ErrCorrupt, Redact(s.path), err)
		}
		meta[k] = v
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrCorrupt, Redact(s.path), err)
	}
	if len(meta["vault_id"]) != 16 || len(meta["key_check"]) == 0 {
		return fmt.Errorf("%w: %s has no vault identity", ErrCorrupt, Redact(s.path))
	}
	sealer, err := secret.NewSealer(key, meta["vault_id"])
	if err != nil {
		return err
	}
	if !sealer.MatchesKeyCheck(meta["key_check"]) {
		return ErrWrongKey
	}
	s.sealer = sealer
	s.sealedAudit.Store(sealer.SealedAudit(meta["key_check"]))
	return nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.releaseHolder()
	s.db.d.closeStmts()
	return s.db.Close()
}

// Path is the database file, or the PostgreSQL URL without its password.
func (s *Store) Path() string { return Redact(s.path) }

// tx runs fn in a write transaction (BEGIN IMMEDIATE), committing if it
// returns nil.
func (s *Store) tx(ctx context.Context, fn func(txn) error) error {
	tx, err := s.db.begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func millis(t time.Time) int64 { return t.UnixMilli() }

func fromMillis(ms sql.NullInt64) time.Time {
	if !ms.Valid || ms.Int64 == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms.Int64)
}

// updateAccount runs an UPDATE (or DELETE) whose last argument is the
// account name, and reports ErrNotFound when no row matched.
func updateAccount(ctx context.Context, tx txn, name, what, query string, args ...any) error {
	res, err := tx.ExecContext(ctx, query, append(args, name)...)
	if err != nil {
		return fmt.Errorf("%s of %s: %w", what, name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	return nil
}
