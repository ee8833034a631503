package store

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strings"
	"sync"
)

// The store speaks one SQL to two engines: SQLite (the embedded default,
// one file) and PostgreSQL (several workers on one database). Queries are
// written once, with ? placeholders, in the SQL both understand; what
// differs lives here and in the schema (migrate.go):
//
//   - placeholders: PostgreSQL's are $1, $2...; rebind rewrites them once
//     per query text and keeps the result.
//   - one writer at a time: SQLite's write transactions begin IMMEDIATE;
//     PostgreSQL's take a transaction-scoped advisory lock of the vault
//     first. Every guarantee built on "a write transaction sees the state
//     no other writer is changing" (the daily cap and the lease taken
//     together, TOTP step claims, the audit chain) holds the same way on
//     both.
//   - the schema version: PRAGMA user_version, or a row of vault_schema.
//   - lease holders: a lock file per open store, or a session advisory lock
//     per open store (holder.go); either dies with its process.
type dialect struct {
	postgres bool
	rebound  sync.Map // query text -> its $n form
	// stmts are SQLite's prepared statements by query text: parsing SQL
	// was 29% of the CPU of a 1,000-account simulation. PostgreSQL's
	// driver keeps its own per connection.
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// maxStmts bounds the statement cache: a query built with fmt (a LIMIT,
// a PRAGMA's value) is run unprepared once the cache is full.
const maxStmts = 256

// stmt is db's prepared statement for q, or nil when q is not to be
// cached: PostgreSQL, several statements in one text, or a full cache.
func (d *dialect) stmt(ctx context.Context, db *sql.DB, q string) *sql.Stmt {
	if d.postgres || strings.Contains(strings.TrimRight(q, " \t\n;"), ";") {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if st, ok := d.stmts[q]; ok {
		return st
	}
	if len(d.stmts) >= maxStmts {
		return nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil // run unprepared: the error comes from there
	}
	if d.stmts == nil {
		d.stmts = map[string]*sql.Stmt{}
	}
	d.stmts[q] = st
	return st
}

// closeStmts closes the cached statements.
func (d *dialect) closeStmts() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for q, st := range d.stmts {
		st.Close()
		delete(d.stmts, q)
	}
}

// writeLockKey is the advisory lock every PostgreSQL write transaction
// takes first ('rotv' as a number): one writer at a time, as in SQLite.
const writeLockKey = 0x726f7476

// IsURL tells whether a vault location is a PostgreSQL URL rather than a
// file path.
func IsURL(location string) bool {
	return strings.HasPrefix(location, "postgres://") || strings.HasPrefix(location, "postgresql://")
}

// HasPassword tells whether a database URL carries a password, in its user
// part or as a parameter; a URL that does not parse is taken to carry one.
func HasPassword(dbURL string) bool {
	u, err := url.Parse(dbURL)
	if err != nil {
		return true
	}
	_, inUser := u.User.Password()
	return inUser || u.Query().Has("password")
}

// Redact is a vault location fit for logs and errors: a URL's password
// and query (which may carry one) are cut out.
func Redact(location string) string {
	if !IsURL(location) {
		return location
	}
	u, err := url.Parse(location)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	if u.User != nil {
		u.User = url.User(u.User.Username())
	}
	u.RawQuery = ""
	return u.String()
}

// rebind turns ? placeholders outside quoted text into $1, $2... for
// PostgreSQL; SQLite takes the query as written.
func (d *dialect) rebind(q string) string {
	if !d.postgres || !strings.Contains(q, "?") {
		return q
	}
	if r, ok := d.rebound.Load(q); ok {
		return r.(string)
	}
	var b strings.Builder
	n := 0
	var quote byte
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteByte(c)
	}
	d.rebound.Store(q, b.String())
	return b.String()
}

// dbh is the database handle, rebinding every query. It does not embed
// *sql.DB, so that no query can reach the driver without rebinding (a
// Prepare with ? placeholders fails only on PostgreSQL).
type dbh struct {
	db *sql.DB
	d  *dialect
}

// Close closes the database.
func (h dbh) Close() error { return h.db.Close() }

// Conn is a connection of the pool of its own.
func (h dbh) Conn(ctx context.Context) (*sql.Conn, error) { return h.db.Conn(ctx) }

func (h dbh) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := h.d.stmt(ctx, h.db, q); st != nil {
		return st.ExecContext(ctx, ints(args)...)
	}
	return h.db.ExecContext(ctx, h.d.rebind(q), ints(args)...)
}

func (h dbh) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := h.d.stmt(ctx, h.db, q); st != nil {
		return st.QueryContext(ctx, ints(args)...)
	}
	return h.db.QueryContext(ctx, h.d.rebind(q), ints(args)...)
}

func (h dbh) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := h.d.stmt(ctx, h.db, q); st != nil {
		return st.QueryRowContext(ctx, ints(args)...)
	}
	return h.db.QueryRowContext(ctx, h.d.rebind(q), ints(args)...)
}

// ints passes booleans as 0 and 1: the schema keeps flags in integer
// columns, which SQLite does anyway and PostgreSQL's driver will not fill
// from a bool.
func ints(args []any) []any {
	for i, a := range args {
		if b, ok := a.(bool); ok {
			args[i] = int64(0)
			if b {
				args[i] = int64(1)
			}
		}
	}
	return args
}

// txn is a write transaction, rebinding every query and running the
// cached statements on its connection. Like dbh, it offers no way around
// the rebinding.
type txn struct {
	tx *sql.Tx
	db *sql.DB
	d  *dialect
}

func (t txn) Commit() error   { return t.tx.Commit() }
func (t txn) Rollback() error { return t.tx.Rollback() }

func (t txn) ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error) {
	if st := t.d.stmt(ctx, t.db, q); st != nil {
		return t.tx.StmtContext(ctx, st).ExecContext(ctx, ints(args)...)
	}
	return t.tx.ExecContext(ctx, t.d.rebind(q), ints(args)...)
}

func (t txn) QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	if st := t.d.stmt(ctx, t.db, q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryContext(ctx, ints(args)...)
	}
	return t.tx.QueryContext(ctx, t.d.rebind(q), ints(args)...)
}

func (t txn) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := t.d.stmt(ctx, t.db, q); st != nil {
		return t.tx.StmtContext(ctx, st).QueryRowContext(ctx, ints(args)...)
	}
	return t.tx.QueryRowContext(ctx, t.d.rebind(q), ints(args)...)
}

// begin starts a write transaction: IMMEDIATE on SQLite (the DSN says so),
// behind the vault's write lock on PostgreSQL.
func (h dbh) begin(ctx context.Context) (txn, error) {
	tx, err := h.db.BeginTx(ctx, nil)
	if err != nil {
		return txn{}, err
	}
	if h.d.postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(writeLockKey)); err != nil {
			tx.Rollback()
			return txn{}, err
		}
	}
	return txn{tx, h.db, h.d}, nil
}
