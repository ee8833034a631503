package store

import (
	"context"
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
