package store

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// A holder is one open Store that may take account leases. While it is
// open it keeps an exclusive lock on a file of its own beside the vault
// (holders/ID.lock); the kernel lets go of that lock the moment its process
// dies, however it dies. So a lease whose holder's file can be locked by
// someone else was left by a dead process, and is taken over at once, not
// when it expires. This asks nothing of PIDs, which mean nothing across
// PID namespaces. It holds for every process that opens the vault file on
// this machine. On PostgreSQL a holder is a session advisory lock and a
// heartbeat (pgholder.go).
type holder struct {
	mu sync.Mutex
	id string
	f  *os.File
	// On PostgreSQL (pgholder.go): conn holds the advisory lock of key;
	// stopBeat ends the heartbeat; stale, when set (tests), replaces
	// holderStale.
	conn     *sql.Conn
	key      int64
	stopBeat func()
	stale    time.Duration
}

func (s *Store) holdersDir() string { return filepath.Join(filepath.Dir(s.path), "holders") }

// holderID returns this store's holder id, taking its lock on first use.
func (s *Store) holderID() (string, error) {
	s.holder.mu.Lock()
	defer s.holder.mu.Unlock()
	if s.holder.id != "" {
		return s.holder.id, nil
	}
	if s.db.d.postgres {
		id, err := s.pgHolderID()
		s.holder.id = id
		return id, err
	}
	dir := s.holdersDir()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("lease holder: %w", err)
	}
	b := make([]byte, 12)
	rand.Read(b)
	id := hex.EncodeToString(b)
	f, err := os.OpenFile(filepath.Join(dir, id+".lock"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("lease holder: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return "", fmt.Errorf("lease holder: lock: %w", err)
	}
	s.holder.id, s.holder.f = id, f
	return id, nil
}

// releaseHolder gives up this store's holder lock and its file.
func (s *Store) releaseHolder() {
	s.holder.mu.Lock()
	defer s.holder.mu.Unlock()
	if s.holder.conn != nil {
		s.holder.mu.Unlock()
		s.pgEndHolder() // its heartbeat takes mu
		s.holder.mu.Lock()
	}
	if s.holder.f == nil {
		return
	}
	os.Remove(s.holder.f.Name())
	s.holder.f.Close()
	s.holder.f = nil
}

// holderDead says whether the holder id is known dead: its lock file is
// gone or can be locked. A file found dead is removed.
func (s *Store) holderDead(id string) bool {
	if s.db.d.postgres {
		return s.pgHolderDead(id)
	}
	if len(id) != 24 {
		return false // none recorded (an older lease), or not ours to judge
	}
	if _, err := hex.DecodeString(id); err != nil {
		return false
	}
	path := filepath.Join(s.holdersDir(), id+".lock")
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return true
	}
	if err != nil {
		return false
	}
	defer f.Close()
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		return false // held: alive
	}
	os.Remove(path)
	return true
}

// HolderID is this open store's lease holder id: its lock is held, and the
// id stays the same, until Close. A worker names itself by it (its River
// client, say), so that others can tell with HolderDead whether it lives.
func (s *Store) HolderID() (string, error) { return s.holderID() }

// HolderDead says whether the holder id is known dead: its lock file is free
// or gone, or its PostgreSQL advisory lock is not held. An id it cannot
// judge is alive.
func (s *Store) HolderDead(id string) bool { return s.holderDead(id) }
