package store

import (
	"context"
	"testing"
	"time"
)

// serve.per_site holds across workers: a site's slots are counted in the
// vault, a dead worker's slot does not count, nor does one older than the
// longest a job may run.
func TestSiteSlotsAcrossWorkers(t *testing.T) { eachBackend(t, testSiteSlots) }

func testSiteSlots(t *testing.T) {
	ctx := context.Background()
	s1, path, key := newVault(t)
	s2, err := Open(ctx, path, key)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	take := func(s *Store, site, account string, stale time.Duration) bool {
		t.Helper()
		ok, err := s.TakeSiteSlot(ctx, site, account, 1, stale)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !take(s1, "a.example", "alice", time.Hour) {
		t.Fatal("the first slot on a site")
	}
	if take(s2, "a.example", "bob", time.Hour) {
		t.Fatal("another worker took a second slot on a site allowing one")
	}
	if !take(s2, "b.example", "bob", time.Hour) {
		t.Fatal("a slot on another site")
	}
	if take(s2, "a.example", "alice", time.Hour) {
		t.Fatal("another worker took the slot of an account a live worker rotates")
	}
	if err := s1.ReleaseSiteSlot(ctx, "a.example", "alice"); err != nil {
		t.Fatal(err)
	}
	if !take(s2, "a.example", "bob", time.Hour) {
		t.Fatal("a slot given back")
	}
	killHolder(s2) // the worker holding it dies
	if !take(s1, "a.example", "carol", time.Hour) {
		t.Fatal("a dead worker's slot still counts")
	}
	// A slot whose release was lost counts until it is stale.
	s3, err := Open(ctx, path, key)
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if take(s3, "a.example", "dave", time.Hour) {
		t.Fatal("a live worker's slot does not count")
	}
	time.Sleep(5 * time.Millisecond)
	if !take(s3, "a.example", "dave", time.Millisecond) {
		t.Fatal("a stale slot still counts")
	}
}

// Schema version 8 first shipped without site_slots (it was added to that
// migration later): a vault made then is at version 8 with no such table,
// and every rotation's TakeSiteSlot failed on it. Version 9 makes the
// table where it is missing.
func TestSiteSlotsInAVaultMadeByTheFirstVersion8(t *testing.T) { eachBackend(t, testSiteSlotsFirstV8) }

func testSiteSlotsFirstV8(t *testing.T) {
	ctx := context.Background()
	s, path, key := newVault(t)
	for _, q := range []string{`DROP TABLE site_slots`, `ALTER TABLE console_sessions DROP COLUMN mac`, `ALTER TABLE peers DROP COLUMN mac`} {
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
	if ok, err := s2.TakeSiteSlot(ctx, "a.example", "alice", 1, time.Hour); err != nil || !ok {
		t.Fatalf("a slot in a vault that reached version 8 without site_slots: %v %v", ok, err)
	}
}
