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

	"github.com/jackc/pgx/v5/stdlib"
)

// On PostgreSQL a holder is two things, and it is dead only when both say
// so:
//
//   - a session advisory lock, held on a connection of its own, which the
//     server lets go of the moment that session ends: at once when the
//     process is killed (the kernel closes its socket);
//   - a heartbeat: its row in holders, stamped with the server's clock every
//     holderBeat through the pool.
//
// A session also ends while its process lives (a server restart or
// failover, idle_session_timeout, pg_terminate_backend, a dropped idle
// connection): the lock alone would call a live worker dead, and another
// would take its leases while it still drives the site. So a free lock
// counts only once the heartbeat is also older than holderStale; and a
// live holder that finds its lock gone takes it again on a new session
// at its next beat. A killed worker's leases are taken over within
// holderStale. The id is "pg" and the lock's 64-bit key in hex.
const (
	holderBeat  = 2 * time.Second
	holderStale = 10 * time.Second
)

// serverMillis is the server's clock in Unix milliseconds: every worker
// judges heartbeats by the same clock.
const serverMillis = `(extract(epoch from clock_timestamp()) * 1000)::bigint`

// pgHolderID takes this store's advisory lock and starts its heartbeat.
func (s *Store) pgHolderID() (string, error) {
	var b [8]byte
	rand.Read(b[:])
	key := int64(binary.BigEndian.Uint64(b[:]))
	id := "pg" + hex.EncodeToString(b[:])
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := s.lockHolderKey(ctx, key)
	if err != nil {
		return "", err
	}
	if _, err := s.db.ExecContext(ctx, `INSERT INTO holders (id, heartbeat_at) VALUES (?, `+serverMillis+`)`, id); err != nil {
		pgReleaseHolder(conn)
		return "", fmt.Errorf("lease holder: %v", scrubURL(err, s.path))
	}
	s.holder.conn, s.holder.key = conn, key
	beatCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	s.holder.stopBeat = func() { stop(); <-done }
	go func() {
		defer close(done)
		s.heartbeat(beatCtx, id)
	}()
	return id, nil
}

// lockHolderKey takes the advisory lock on a new session of its own, with
// no idle timeout to end it and TCP keepalives to find a dead server.
func (s *Store) lockHolderKey(ctx context.Context, key int64) (*sql.Conn, error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("lease holder: %v", scrubURL(err, s.path))
	}
	for _, q := range []string{`SET idle_session_timeout = 0`, `SET idle_in_transaction_session_timeout = 0`,
		`SET tcp_keepalives_idle = 30`, `SET tcp_keepalives_interval = 10`, `SELECT pg_advisory_lock($1)`} {
		var args []any
		if strings.Contains(q, "$1") {
			args = []any{key}
		}
		if _, err := conn.ExecContext(ctx, q, args...); err != nil && !strings.HasPrefix(q, "SET tcp") {
			pgReleaseHolder(conn)
			return nil, fmt.Errorf("lease holder: %s: %v", q, scrubURL(err, s.path))
		}
	}
	return conn, nil
}

// heartbeat stamps the holder's row every holderBeat, takes the lock again
// when its session was ended under it, and clears out rows of holders
// dead an hour.
func (s *Store) heartbeat(ctx context.Context, id string) {
	t := time.NewTicker(holderBeat)
	defer t.Stop()
	for beat := 1; ; beat++ {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		bctx, cancel := context.WithTimeout(ctx, holderBeat)
		s.db.ExecContext(bctx, `UPDATE holders SET heartbeat_at = `+serverMillis+` WHERE id = ?`, id)
		if beat%30 == 0 { // once a minute is plenty for rows an hour old
			s.db.ExecContext(bctx, `DELETE FROM holders WHERE heartbeat_at < `+serverMillis+` - 3600000`)
		}
		s.keepHolderLock(bctx)
		cancel()
	}
}

// keepHolderLock checks that the holder's session still holds its lock,
// and takes it on a new one when it does not.
func (s *Store) keepHolderLock(ctx context.Context) {
	s.holder.mu.Lock()
	defer s.holder.mu.Unlock()
	if s.holder.conn == nil {
		return
	}
	var n int
	err := s.holder.conn.QueryRowContext(ctx, `SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory'
	AND classid::bigint = $1 AND objid::bigint = $2 AND objsubid = 1 AND granted`, int64(uint64(s.holder.key)>>32), int64(uint64(s.holder.key)&0xffffffff)).Scan(&n)
	if err == nil && n > 0 {
		return
	}
	if conn, err := s.lockHolderKey(ctx, s.holder.key); err == nil {
		pgReleaseHolder(s.holder.conn)
		s.holder.conn = conn
	}
}

// pgHolderDead says whether the holder is gone: its advisory lock is free
// and its heartbeat older than holderStale (or never written). It errs on
// the side of alive: a holder it cannot check is not taken over early.
func (s *Store) pgHolderDead(id string) bool {
	b, err := hex.DecodeString(strings.TrimPrefix(id, "pg"))
	if !strings.HasPrefix(id, "pg") || err != nil || len(b) != 8 {
		return false
	}
	key := binary.BigEndian.Uint64(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var held, beating bool
	err = s.db.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
	AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
	AND classid::bigint = ? AND objid::bigint = ? AND objsubid = 1),
	EXISTS (SELECT 1 FROM holders WHERE id = ? AND heartbeat_at > `+serverMillis+` - ?)`,
		int64(key>>32), int64(key&0xffffffff), id, s.staleAfter().Milliseconds()).Scan(&held, &beating)
	return err == nil && !held && !beating
}

func (s *Store) staleAfter() time.Duration {
	if s.holder.stale > 0 {
		return s.holder.stale
	}
	return holderStale
}

// pgReleaseHolder ends the holder's session, and so its lock.
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

// pgEndHolder stops the heartbeat, removes the holder's row (a clean close
// is dead at once) and ends its session.
func (s *Store) pgEndHolder() {
	if s.holder.stopBeat != nil {
		s.holder.stopBeat()
		s.holder.stopBeat = nil
	}
	if s.holder.id != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s.db.ExecContext(ctx, `DELETE FROM holders WHERE id = ?`, s.holder.id)
		cancel()
	}
	pgReleaseHolder(s.holder.conn)
	s.holder.conn = nil
}
