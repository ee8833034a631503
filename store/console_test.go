package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"testing"
)

// The console token's hash carries an HMAC under the master key: one
// written into the database by hand is refused, and a vault's token from
// before version 9 gets its HMAC with the migration, and still signs in.
func TestConsoleTokenSealed(t *testing.T) { eachBackend(t, testConsoleTokenSealed) }

func testConsoleTokenSealed(t *testing.T) {
	ctx := context.Background()
	s, path, key := newVault(t)
	h := sha256.Sum256([]byte("rtc_the-token"))
	if err := s.SetConsoleToken(ctx, h[:], "test"); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ConsoleToken(ctx); err != nil || !bytes.Equal(got, h[:]) {
		t.Fatalf("the token: %x %v", got, err)
	}
	mine := sha256.Sum256([]byte("rtc_mallory"))
	if _, err := s.db.Exec(`UPDATE vault_meta SET value = ? WHERE key = 'console_token'`, mine[:]); err != nil {
		t.Fatal(err)
	}
	if got, err := s.ConsoleToken(ctx); !errors.Is(err, ErrConsoleTokenAltered) {
		t.Fatalf("a token hash written by hand: %x %v", got, err)
	}
	// A vault at version 8, its token hash as version 8 wrote it.
	if _, err := s.db.Exec(`UPDATE vault_meta SET value = ? WHERE key = 'console_token'`, h[:]); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`ALTER TABLE console_sessions DROP COLUMN mac`, `ALTER TABLE peers DROP COLUMN mac`} {
		if _, err := s.db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	setVersion(t, s, 8)
	s.Close()
	s2, err := Open(ctx, path, key)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if got, err := s2.ConsoleToken(ctx); err != nil || !bytes.Equal(got, h[:]) {
		t.Fatalf("the token after migration 9: %x %v", got, err)
	}
}
