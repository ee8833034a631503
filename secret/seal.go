package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
)

// KeySize is the size of a master key in bytes.
const KeySize = 32

// sealVersion is the first byte of every ciphertext, so the format can change.
const sealVersion = 1

// ErrOpen means a ciphertext did not decrypt: a wrong key, a ciphertext moved
// to another account or field, or a damaged value. The cases are
// indistinguishable by design.
var ErrOpen = errors.New("encrypted value does not open with this key in this place")

// MasterKey is the vault's 32-byte master key. It prints as "[redacted]".
type MasterKey struct {
	b [KeySize]byte
}

// NewMasterKey returns a fresh random master key from crypto/rand.
func NewMasterKey() MasterKey {
	var k MasterKey
	rand.Read(k.b[:]) // crypto/rand.Read never fails (Go 1.24+).
	return k
}

// MasterKeyFromBytes copies a 32-byte key.
func MasterKeyFromBytes(b []byte) (MasterKey, error) {
	var k MasterKey
	if len(b) != KeySize {
		return k, fmt.Errorf("master key is %d bytes, want %d", len(b), KeySize)
	}
	copy(k.b[:], b)
	return k, nil
}

func (MasterKey) String() string               { return Redacted }
func (MasterKey) GoString() string             { return "secret.MasterKey(" + Redacted + ")" }
func (MasterKey) Format(f fmt.State, _ rune)   { _, _ = f.Write([]byte(Redacted)) }
func (MasterKey) MarshalText() ([]byte, error) { return []byte(Redacted), nil }

// AD is associated data: the place a ciphertext belongs to, for example
// AD{"account", "alice", "password"}. Its parts are length-prefixed, so
// {"ab", "c"} and {"a", "bc"} differ.
type AD []string

func (ad AD) bytes() []byte {
	var b []byte
	b = append(b, "rotator-ad-v1"...)
	for _, p := range ad {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return b
}

// Sealer encrypts and decrypts the secret fields of one vault.
type Sealer struct {
	aead   cipher.AEAD
	check  []byte
	check2 []byte
	macKey []byte
}

// NewSealer derives the field-encryption key and the key-check value from
// master, salted with the vault's random identifier, so that two vaults
// sharing a master key still use different field keys.
func NewSealer(master MasterKey, vaultID []byte) (*Sealer, error) {
	encKey, err := hkdf.Key(sha256.New, master.b[:], vaultID, "rotator v1 field encryption", 32)
	if err != nil {
		return nil, fmt.Errorf("derive field key: %w", err)
	}
	checkKey, err := hkdf.Key(sha256.New, master.b[:], vaultID, "rotator v1 key check", 32)
	if err != nil {
		return nil, fmt.Errorf("derive key-check key: %w", err)
	}
	block, err := aes.NewCipher(encKey)
	if err != nil {
		return nil, fmt.Errorf("aes: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("gcm: %w", err)
	}
	macKey, err := hkdf.Key(sha256.New, master.b[:], vaultID, "rotator v1 audit chain", 32)
	if err != nil {
		return nil, fmt.Errorf("derive audit key: %w", err)
	}
	mac := hmac.New(sha256.New, checkKey)
	mac.Write([]byte("rotator master key check"))
	mac2 := hmac.New(sha256.New, checkKey)
	mac2.Write([]byte("rotator master key check; the audit log's head is sealed"))
	return &Sealer{aead: aead, check: mac.Sum(nil), check2: mac2.Sum(nil), macKey: macKey}, nil
}

// MAC authenticates data under a key derived from the master key, for the
// audit log's hash chain: without the key, an entry cannot be forged or
// altered and the chain repaired.
func (s *Sealer) MAC(parts ...[]byte) []byte {
	m := hmac.New(sha256.New, s.macKey)
	for _, p := range parts {
		var n [binary.MaxVarintLen64]byte
		m.Write(n[:binary.PutUvarint(n[:], uint64(len(p)))])
		m.Write(p)
	}
	return m.Sum(nil)
}

// KeyCheck returns a value that depends only on the master key and the vault
// identifier. The vault stores it at creation; a different key gives a
// different value, which is how a wrong key is told apart from corruption.
func (s *Sealer) KeyCheck() []byte { return append([]byte(nil), s.check...) }

// MatchesKeyCheck reports whether stored was made by this key, by
// KeyCheck or KeyCheckSealedAudit.
func (s *Sealer) MatchesKeyCheck(stored []byte) bool {
	return hmac.Equal(stored, s.check) || hmac.Equal(stored, s.check2)
}

// KeyCheckSealedAudit is the key check of a vault whose audit log always
// has a sealed head: a vault that says so cannot be made to say otherwise
// without the key, so a head removed with every entry is still caught.
func (s *Sealer) KeyCheckSealedAudit() []byte { return append([]byte(nil), s.check2...) }

// SealedAudit reports whether stored is KeyCheckSealedAudit.
func (s *Sealer) SealedAudit(stored []byte) bool { return hmac.Equal(stored, s.check2) }

// Seal encrypts plaintext for the place ad. The result is
// version(1) || nonce(12) || ciphertext || tag(16).
func (s *Sealer) Seal(plaintext []byte, ad AD) []byte {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	rand.Read(out[1:])
	return s.aead.Seal(out, out[1:], plaintext, ad.bytes())
}

// Open decrypts a value made by Seal for the same place ad.
func (s *Sealer) Open(sealed []byte, ad AD) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], ad.bytes())
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// SealString is Seal for a secret text.
func (s *Sealer) SealString(v String, ad AD) []byte { return s.Seal([]byte(v.Reveal()), ad) }

// OpenString is Open for a secret text.
func (s *Sealer) OpenString(sealed []byte, ad AD) (String, error) {
	pt, err := s.Open(sealed, ad)
	if err != nil {
		return String{}, err
	}
	return New(string(pt)), nil
}
