package daemon

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// ErrServing means another process serves from the same data folder.
var ErrServing = errors.New("another rotator serve (or demo) runs on this data folder")

// LockFile names the lock file in the data folder.
const LockFile = "serve.lock"

// DataLock is the exclusive hold of one serve on its data folder. On the
// embedded (SQLite) store only one serve runs at a time: holding the lock,
// a serve knows that any job left running in the queue belongs to a dead
// process.
type DataLock struct{ f *os.File }

// LockDataDir takes the data folder's lock (a flock, released by the
// kernel when the process dies, even by SIGKILL), or fails at once with
// ErrServing.
func LockDataDir(dir string) (*DataLock, error) {
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open serve lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s is locked (%s); stop the other one first", ErrServing, dir, LockFile)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return &DataLock{f: f}, nil
}

// Release gives the lock back.
func (l *DataLock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}
