package secret

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrKeyFileExists is returned by CreateKeyFile when the file already exists.
var ErrKeyFileExists = errors.New("key file already exists")

// LoadKeyFile reads a master key file. It refuses a file that group or others
// may read or write, saying why, and a file that is not exactly 32 bytes.
func LoadKeyFile(path string) (MasterKey, error) {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return MasterKey{}, fmt.Errorf("master key file %s does not exist (run `rotator init`, or set ROTATOR_MASTER_KEY_FILE)", path)
		}
		return MasterKey{}, fmt.Errorf("open master key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return MasterKey{}, fmt.Errorf("stat master key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return MasterKey{}, fmt.Errorf("master key file %s is not a regular file", path)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return MasterKey{}, fmt.Errorf("master key file %s has mode %04o: group or others may read it; run `chmod 600 %s`", path, perm, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, KeySize+1))
	if err != nil {
		return MasterKey{}, fmt.Errorf("read master key file: %w", err)
	}
	if len(b) != KeySize {
		return MasterKey{}, fmt.Errorf("master key file %s is not a rotator key: want exactly %d bytes", path, KeySize)
	}
	return MasterKeyFromBytes(b)
}

// CreateKeyFile writes a new random master key to path with mode 0600,
// syncs the file and its directory, and returns the key. It never overwrites
// an existing file.
func CreateKeyFile(path string) (MasterKey, error) {
	k := NewMasterKey()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return MasterKey{}, fmt.Errorf("%w: %s", ErrKeyFileExists, path)
		}
		return MasterKey{}, fmt.Errorf("create master key file: %w", err)
	}
	if _, err := f.Write(k.b[:]); err != nil {
		f.Close()
		os.Remove(path)
		return MasterKey{}, fmt.Errorf("write master key file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return MasterKey{}, fmt.Errorf("sync master key file: %w", err)
	}
	if err := f.Close(); err != nil {
		return MasterKey{}, fmt.Errorf("close master key file: %w", err)
	}
	if err := SyncDir(filepath.Dir(path)); err != nil {
		return MasterKey{}, err
	}
	return k, nil
}

// SyncDir fsyncs a directory so that a file just created in it survives a
// crash.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("open directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
