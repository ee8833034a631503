package secret

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestStringNeverPrints(t *testing.T) {
	s := New("hunter2-canary")
	var logbuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logbuf, nil)).Info("x", "password", s)
	slog.New(slog.NewTextHandler(&logbuf, nil)).Info("x", "password", s)
	js, _ := json.Marshal(struct{ P String }{s})
	outs := []string{
		fmt.Sprint(s), fmt.Sprintf("%s %v %+v %#v %q %x %X %d %10s", s, s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v", struct{ P String }{s}), fmt.Sprintf("%+v", &struct{ P String }{s}),
		fmt.Errorf("wrapped: %v", s).Error(), logbuf.String(), string(js),
	}
	for _, o := range outs {
		if strings.Contains(o, "hunter2") {
			t.Errorf("secret printed: %s", o)
		}
	}
	if s.Reveal() != "hunter2-canary" || !s.Equal(New("hunter2-canary")) || s.IsZero() || !(String{}).IsZero() {
		t.Error("Reveal/Equal/IsZero")
	}
	k := NewMasterKey()
	if got := fmt.Sprintf("%v %s %x %#v", k, k, k, k); strings.Count(got, Redacted) != 4 {
		t.Errorf("master key printed: %s", got)
	}
}

func TestSealOpen(t *testing.T) {
	k := NewMasterKey()
	s, err := NewSealer(k, []byte("vault-1"))
	if err != nil {
		t.Fatal(err)
	}
	ad := AD{"account", "alice", "password"}
	c := s.Seal([]byte("pw"), ad)
	if bytes.Contains(c, []byte("pw")) && len(c) < 10 {
		t.Fatal("not encrypted")
	}
	if c2 := s.Seal([]byte("pw"), ad); bytes.Equal(c, c2) {
		t.Error("two seals of the same value are equal: nonce reuse")
	}
	pt, err := s.Open(c, ad)
	if err != nil || string(pt) != "pw" {
		t.Fatalf("open: %q %v", pt, err)
	}
	for name, bad := range map[string]AD{
		"other account":  {"account", "bob", "password"},
		"other field":    {"account", "alice", "pending"},
		"shifted bounds": {"account", "alic", "epassword"},
		"no ad":          nil,
	} {
		if _, err := s.Open(c, bad); !errors.Is(err, ErrOpen) {
			t.Errorf("%s: opened", name)
		}
	}
	other, _ := NewSealer(NewMasterKey(), []byte("vault-1"))
	if _, err := other.Open(c, ad); !errors.Is(err, ErrOpen) {
		t.Error("another key opened it")
	}
	sameKeyOtherVault, _ := NewSealer(k, []byte("vault-2"))
	if _, err := sameKeyOtherVault.Open(c, ad); !errors.Is(err, ErrOpen) {
		t.Error("the same key in another vault opened it")
	}
	tampered := append([]byte(nil), c...)
	tampered[len(tampered)-1] ^= 1
	if _, err := s.Open(tampered, ad); !errors.Is(err, ErrOpen) {
		t.Error("tampered ciphertext opened")
	}
	if _, err := s.Open(c[:5], ad); !errors.Is(err, ErrOpen) {
		t.Error("short ciphertext opened")
	}
	if !s.MatchesKeyCheck(s.KeyCheck()) || other.MatchesKeyCheck(s.KeyCheck()) || sameKeyOtherVault.MatchesKeyCheck(s.KeyCheck()) {
		t.Error("key check")
	}
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "master.key")
	k, err := CreateKeyFile(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(path)
	if fi.Mode().Perm() != 0o600 || fi.Size() != KeySize {
		t.Errorf("mode %o size %d", fi.Mode().Perm(), fi.Size())
	}
	k2, err := LoadKeyFile(path)
	if err != nil || k2 != k {
		t.Fatalf("load: %v", err)
	}
	if _, err := CreateKeyFile(path); !errors.Is(err, ErrKeyFileExists) {
		t.Errorf("overwrote: %v", err)
	}
	if k3, _ := LoadKeyFile(path); k3 != k {
		t.Error("key changed by a refused create")
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path); err == nil || !strings.Contains(err.Error(), "group or others may read it") || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("0644 accepted or unclear: %v", err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(path); err == nil {
		t.Error("0640 accepted")
	}
	short := filepath.Join(dir, "short.key")
	if err := os.WriteFile(short, []byte("abc"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadKeyFile(short); err == nil || !strings.Contains(err.Error(), "not a rotator key") {
		t.Errorf("short key: %v", err)
	}
	if _, err := LoadKeyFile(filepath.Join(dir, "none")); err == nil || !strings.Contains(err.Error(), "rotator init") {
		t.Errorf("missing key: %v", err)
	}
}

func BenchmarkSealOpen(b *testing.B) {
	s, _ := NewSealer(NewMasterKey(), []byte("vault"))
	ad := AD{"account", "alice", "password"}
	pt := []byte("a 20-character pw!!!")
	for b.Loop() {
		if _, err := s.Open(s.Seal(pt, ad), ad); err != nil {
			b.Fatal(err)
		}
	}
}
