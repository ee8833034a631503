package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/rotator-pam/rotator/secret"
)

// openPostgresDB opens a handle on the PostgreSQL database at url. Every
// connection commits synchronously (synchronous_commit=on: a commit
// returns once its WAL is flushed), and the server must not run with
// fsync off, which would make that flush a lie; WithoutSync turns both
// off, for simulations only.
func openPostgresDB(ctx context.Context, url string, opts []Option) (*Store, error) {
	s := &Store{path: url, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("open vault %s: %v", Redact(url), scrubURL(err, url))
	}
	sync := "on"
	if s.noSync {
		sync = "off"
	}
	cfg.RuntimeParams["synchronous_commit"] = sync
	cfg.RuntimeParams["application_name"] = "rotator"
	db := stdlib.OpenDB(*cfg)
	db.SetMaxIdleConns(4)
	s.db = dbh{db, &dialect{postgres: true}}
	if err := s.checkServer(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// checkServer reaches the server and refuses one that does not sync its
// writes.
func (s *Store) checkServer(ctx context.Context) error {
	var fsync string
	if err := s.db.QueryRowContext(ctx, `SHOW fsync`).Scan(&fsync); err != nil {
		return fmt.Errorf("open vault %s: %v", Redact(s.path), scrubURL(err, s.path))
	}
	if fsync != "on" && !s.noSync {
		return fmt.Errorf("open vault %s: the server runs with fsync=%s: a committed password could be lost in a crash; turn fsync on", Redact(s.path), fsync)
	}
	return nil
}

// scrubURL keeps a connection URL's password out of a driver's error.
func scrubURL(err error, url string) string {
	msg := err.Error()
	if cfg, perr := pgx.ParseConfig(url); perr == nil && cfg.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.Password, "xxxxx")
	}
	return strings.ReplaceAll(msg, url, Redact(url))
}

// createPostgres makes a vault in an empty PostgreSQL database.
func createPostgres(ctx context.Context, url string, key secret.MasterKey, opts []Option) (*Store, error) {
	s, err := openPostgresDB(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	v, err := s.schemaVersion(ctx, s.db)
	if err != nil {
		s.db.Close()
		return nil, err
	}
	if v != 0 {
		s.db.Close()
		return nil, fmt.Errorf("%w: %s", ErrExists, Redact(url))
	}
	return s.initVault(ctx, key)
}

// openPostgres opens the vault in a PostgreSQL database.
func openPostgres(ctx context.Context, url string, key secret.MasterKey, opts []Option) (*Store, error) {
	s, err := openPostgresDB(ctx, url, opts)
	if err != nil {
		return nil, err
	}
	return s.openVault(ctx, key)
}

// On PostgreSQL a holder is a session advisory lock, held on a connection
// of its own for as long as the store is open: the server lets go of it
// the moment that connection ends, which a killed process's does at once
// (its socket is closed by the kernel), and a machine that vanished's does
// when the server's TCP keepalive gives up on it. A lease whose holder's
// lock is not held is taken over at once, as with the lock files. The id
// is "pg" and the lock's 64-bit key in hex.

// pgHolderID takes this store's advisory lock on a connection of its own.
func (s *Store) pgHolderID() (string, error) {
	var b [8]byte
	rand.Read(b[:])
	key := int64(binary.BigEndian.Uint64(b[:]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return "", fmt.Errorf("lease holder: %v", scrubURL(err, s.path))
	}
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, key); err != nil {
		conn.Close()
		return "", fmt.Errorf("lease holder: lock: %w", err)
	}
	s.holder.conn = conn
	return "pg" + hex.EncodeToString(b[:]), nil
}

// pgHolderDead says whether the holder's advisory lock is free. It errs on
// the side of alive: a holder it cannot check is not taken over early.
func (s *Store) pgHolderDead(id string) bool {
	b, err := hex.DecodeString(strings.TrimPrefix(id, "pg"))
	if !strings.HasPrefix(id, "pg") || err != nil || len(b) != 8 {
		return false
	}
	key := binary.BigEndian.Uint64(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var held bool
	err = s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 1)`, int64(key>>32), int64(key&0xffffffff)).Scan(&held)
	return err == nil && !held
}

// pgReleaseHolder ends the holder's connection, and so its lock.
func pgReleaseHolder(conn *sql.Conn) {
	conn.Raw(func(c any) error {
		// Close the connection itself rather than return it to the
		// pool, where the lock would live on.
		if sc, ok := c.(*stdlib.Conn); ok {
			sc.Close()
		}
		return nil
	})
	conn.Close()
}
