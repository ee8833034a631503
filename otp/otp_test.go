package otp

import (
	"context"
	"encoding/base32"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// RFC 6238 Appendix B: seeds and expected 8-digit codes.
func TestRFC6238AppendixB(t *testing.T) {
	seeds := map[Algorithm]string{
		SHA1:   "12345678901234567890",
		SHA256: "12345678901234567890123456789012",
		SHA512: "1234567890123456789012345678901234567890123456789012345678901234",
	}
	vectors := []struct {
		unix int64
		want map[Algorithm]string
	}{
		{59, map[Algorithm]string{SHA1: "94287082", SHA256: "46119246", SHA512: "90693936"}},
		{1111111109, map[Algorithm]string{SHA1: "07081804", SHA256: "68084774", SHA512: "25091201"}},
		{1111111111, map[Algorithm]string{SHA1: "14050471", SHA256: "67062674", SHA512: "99943326"}},
		{1234567890, map[Algorithm]string{SHA1: "89005924", SHA256: "91819424", SHA512: "93441116"}},
		{2000000000, map[Algorithm]string{SHA1: "69279037", SHA256: "90698825", SHA512: "38618901"}},
		{20000000000, map[Algorithm]string{SHA1: "65353130", SHA256: "77737706", SHA512: "47863826"}},
	}
	for _, alg := range []Algorithm{SHA1, SHA256, SHA512} {
		b32 := base32.StdEncoding.EncodeToString([]byte(seeds[alg]))
		for _, v := range vectors {
			t.Run(fmt.Sprintf("%s/%d", alg, v.unix), func(t *testing.T) {
				k, err := ParseURI("otpauth://totp/RFC:test?secret=" + b32 + "&algorithm=" + string(alg) + "&digits=8&period=30")
				if err != nil {
					t.Fatal(err)
				}
				tok, err := k.At(time.Unix(v.unix, 0))
				if err != nil {
					t.Fatal(err)
				}
				if got := tok.Code.Reveal(); got != v.want[alg] {
					t.Errorf("code at %d = %s, want %s", v.unix, got, v.want[alg])
				}
				if tok.Step != uint64(v.unix/30) {
					t.Errorf("step = %d, want %d", tok.Step, v.unix/30)
				}
			})
		}
	}
}

func TestCodeWindowAndNext(t *testing.T) {
	k, err := ParseSecret("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ") // "12345678901234567890"
	if err != nil {
		t.Fatal(err)
	}
	k.Digits = 8
	at := time.Unix(1111111109, 0)
	tok, err := k.At(at)
	if err != nil {
		t.Fatal(err)
	}
	// 1111111109 is 29 s into the window starting at 1111111080.
	if got := tok.Remaining(at); got != time.Second {
		t.Errorf("remaining = %v, want 1s", got)
	}
	if !tok.Start.Equal(time.Unix(1111111080, 0)) || !tok.End.Equal(time.Unix(1111111110, 0)) {
		t.Errorf("window = [%v, %v)", tok.Start.Unix(), tok.End.Unix())
	}
	next, err := k.Next(at)
	if err != nil {
		t.Fatal(err)
	}
	// RFC vector at 1111111111 is in the next window.
	if next.Code.Reveal() != "14050471" || next.Step != tok.Step+1 {
		t.Errorf("next = %s step %d, want 14050471 step %d", next.Code.Reveal(), next.Step, tok.Step+1)
	}
	if tok.Remaining(next.End) != 0 {
		t.Error("remaining after the window should be zero")
	}
}

func TestNormalizeSecret(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"upper", "JBSWY3DPEHPK3PXP", "JBSWY3DPEHPK3PXP"},
		{"lower", "jbswy3dpehpk3pxp", "JBSWY3DPEHPK3PXP"},
		{"mixed case and spaces", "JBSW Y3DP ehpk 3pxp", "JBSWY3DPEHPK3PXP"},
		{"hyphens", "jbsw-y3dp-ehpk-3pxp", "JBSWY3DPEHPK3PXP"},
		{"tabs and surrounding space", "\tJBSWY3DP EHPK3PXP  ", "JBSWY3DPEHPK3PXP"},
		{"no-break space", "JBSW\u00a0Y3DP\u00a0EHPK\u00a03PXP", "JBSWY3DPEHPK3PXP"},
		{"padding kept off", "GEZDGNBV", "GEZDGNBV"},
		{"with padding", "MFRGG===", "MFRGG"},
		{"without padding", "MFRGG", "MFRGG"},
		{"padding and spaces", "mfrg g===", "MFRGG"},
		{"one byte with padding", "ME======", "ME"},
		{"20-byte seed", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizeSecret(tt.in)
			if err != nil {
				t.Fatalf("NormalizeSecret: %v", err)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNormalizeSecretErrors(t *testing.T) {
	tests := []struct {
		name, in, wantErr string
	}{
		{"digit one", "JBSWY3DP1HPK3PXP", `character '1' at position 9 is not base32`},
		{"digit zero", "0BSWY3DPEHPK3PXP", `character '0' at position 1`},
		{"position counts spaces", "JBSW Y3D! EHPK", `character '!' at position 9`},
		{"unicode", "JBSWY3DPÉ", `character U+00C9 at position 9`},
		{"control", "JBSW\x00", `character U+0000 at position 5`},
		{"padding in the middle", "MFRG=GAA", `character 'G' at position 6 follows '=' padding`},
		{"empty", "", "empty"},
		{"only separators", " - - ", "empty"},
		{"impossible length", "JBSWY3DPE", "9 characters is not a whole number of bytes"},
		{"wrong padding", "MFRGG=", "wrong amount of '=' padding"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NormalizeSecret(tt.in)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidSecret) {
				t.Errorf("error %v does not wrap ErrInvalidSecret", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if len(tt.in) >= 8 && strings.Contains(err.Error(), tt.in) {
				t.Errorf("error %q echoes the secret", err)
			}
		})
	}
}

func TestParseURI(t *testing.T) {
	k, err := ParseURI("otpauth://totp/ACME%20Co:john.doe@email.com?secret=hxdm-vjec-jjws-rb3h-wizr-4ifu-gftm-xboz&issuer=ACME%20Co&algorithm=SHA256&digits=8&period=60")
	if err != nil {
		t.Fatal(err)
	}
	if k.Secret.Reveal() != "HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ" || k.Algorithm != SHA256 || k.Digits != 8 ||
		k.Period != time.Minute || k.Issuer != "ACME Co" || k.Label != "john.doe@email.com" {
		t.Errorf("parsed %+v", k)
	}
	// Round trip.
	k2, err := ParseURI(k.URI().Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if !k2.Secret.Equal(k.Secret) || k2.Algorithm != k.Algorithm || k2.Digits != k.Digits || k2.Period != k.Period || k2.Issuer != k.Issuer || k2.Label != k.Label {
		t.Errorf("round trip %+v != %+v", k2, k)
	}

	d, err := ParseURI("otpauth://totp/alice?secret=JBSWY3DPEHPK3PXP")
	if err != nil {
		t.Fatal(err)
	}
	if d.Algorithm != SHA1 || d.Digits != 6 || d.Period != 30*time.Second || d.Label != "alice" || d.Issuer != "" {
		t.Errorf("defaults: %+v", d)
	}
	// The label's issuer prefix counts when no parameter is given.
	p, err := Parse("  otpauth://totp/Example:bob?secret=JBSWY3DPEHPK3PXP&algorithm=sha512  ")
	if err != nil {
		t.Fatal(err)
	}
	if p.Issuer != "Example" || p.Label != "bob" || p.Algorithm != SHA512 {
		t.Errorf("label issuer: %+v", p)
	}
}

func TestParseURIErrors(t *testing.T) {
	const s = "JBSWY3DPEHPK3PXP"
	tests := []struct {
		name, uri, wantErr string
	}{
		{"hotp", "otpauth://hotp/a?secret=" + s + "&counter=0", "HOTP (counter-based) keys are not supported"},
		{"other type", "otpauth://motp/a?secret=" + s, `type "motp" is not totp`},
		{"scheme", "https://totp/a?secret=" + s, "scheme must be otpauth"},
		{"seven digits", "otpauth://totp/a?secret=" + s + "&digits=7", `digits must be 6 or 8, not "7"`},
		{"period zero", "otpauth://totp/a?secret=" + s + "&period=0", `period must be a positive number of seconds, not "0"`},
		{"negative period", "otpauth://totp/a?secret=" + s + "&period=-30", "period must be a positive"},
		{"md5", "otpauth://totp/a?secret=" + s + "&algorithm=MD5", "unsupported TOTP algorithm"},
		{"no secret", "otpauth://totp/a?issuer=x", "no secret parameter"},
		{"bad secret", "otpauth://totp/a?secret=JBSWY3DP1HPK3PXP", "character '1' at position 9"},
		{"duplicate", "otpauth://totp/a?secret=" + s + "&secret=" + s, `parameter "secret" given 2 times`},
		{"not a url", "otpauth://totp/%zz?secret=" + s, "not a URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseURI(tt.uri)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidURI) {
				t.Errorf("%v does not wrap ErrInvalidURI", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %q does not contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), s) || strings.Contains(err.Error(), "JBSWY3DP1") {
				t.Errorf("error %q echoes the secret", err)
			}
		})
	}
}

// fakeClock advances only when a caller sleeps.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.slept = append(c.slept, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

// memGuard is an in-memory StepGuard.
type memGuard map[string]uint64

func (g memGuard) ClaimStep(_ context.Context, account string, step uint64) (bool, uint64, error) {
	last, seen := g[account]
	if seen && step <= last {
		return false, last, nil
	}
	g[account] = step
	return true, step, nil
}

func TestFreshPolicy(t *testing.T) {
	k, _ := ParseSecret("JBSWY3DPEHPK3PXP")
	ctx := context.Background()
	tests := []struct {
		name      string
		offset    time.Duration // into a 30 s window
		min       time.Duration
		wantWait  time.Duration
		wantLater bool // code from the next window
	}{
		{"plenty left", 10 * time.Second, 0, 0, false},
		{"exactly the minimum", 25 * time.Second, 0, 0, false},
		{"too little left", 26 * time.Second, 0, 4 * time.Second, true},
		{"custom minimum", 15 * time.Second, 20 * time.Second, 15 * time.Second, true},
		{"custom minimum met", 5 * time.Second, 20 * time.Second, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := time.Unix(1_700_000_010, 0) // a window starts at ..010 (divisible by 30)
			clock := &fakeClock{now: base.Add(tt.offset)}
			g := Generator{Clock: clock, Guard: memGuard{}}
			tok, err := g.Fresh(ctx, "a", k, tt.min)
			if err != nil {
				t.Fatal(err)
			}
			var waited time.Duration
			for _, d := range clock.slept {
				waited += d
			}
			if waited != tt.wantWait {
				t.Errorf("waited %v, want %v", waited, tt.wantWait)
			}
			wantStep := k.Step(base)
			if tt.wantLater {
				wantStep++
			}
			if tok.Step != wantStep {
				t.Errorf("step %d, want %d", tok.Step, wantStep)
			}
			min := tt.min
			if min == 0 {
				min = DefaultMinValidity
			}
			if r := tok.Remaining(clock.Now()); r < min {
				t.Errorf("handed out a code with %v left, minimum %v", r, min)
			}
		})
	}
}

func TestFreshNeverRepeatsAStep(t *testing.T) {
	k, _ := ParseSecret("JBSWY3DPEHPK3PXP")
	clock := &fakeClock{now: time.Unix(1_700_000_010, 0)}
	g := Generator{Clock: clock, Guard: memGuard{}}
	seen := map[uint64]bool{}
	for i := range 5 {
		tok, err := g.Fresh(context.Background(), "a", k, 0)
		if err != nil {
			t.Fatal(err)
		}
		if seen[tok.Step] {
			t.Fatalf("call %d: step %d handed out twice", i, tok.Step)
		}
		seen[tok.Step] = true
		if tok.Remaining(clock.Now()) < DefaultMinValidity {
			t.Fatalf("call %d: too little validity", i)
		}
	}
	// The second call had to wait for a whole new window.
	if len(clock.slept) != 4 {
		t.Errorf("slept %d times, want 4", len(clock.slept))
	}
	// Another account is independent.
	tok, err := g.Fresh(context.Background(), "b", k, 0)
	if err != nil || seen[tok.Step] != true {
		t.Errorf("account b should get the current step: %v %v", tok.Step, err)
	}
}

func TestFreshContextAndBadMinimum(t *testing.T) {
	k, _ := ParseSecret("JBSWY3DPEHPK3PXP")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	g := Generator{Clock: &fakeClock{now: time.Unix(1_700_000_010+28, 0)}, Guard: memGuard{}}
	if _, err := g.Fresh(ctx, "a", k, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
	if _, err := g.Fresh(context.Background(), "a", k, 30*time.Second); !errors.Is(err, ErrMinValidity) {
		t.Errorf("err = %v, want ErrMinValidity", err)
	}
}

var base32Only = regexp.MustCompile(`^[A-Z2-7]+$`)

func FuzzNormalizeSecret(f *testing.F) {
	for _, s := range []string{"JBSWY3DPEHPK3PXP", "jbsw y3dp-ehpk3pxp", "MFRGG===", "ME======", "1", "=", "A=B", "é", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := NormalizeSecret(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidSecret) {
				t.Fatalf("error %v does not wrap ErrInvalidSecret", err)
			}
			noEcho(t, err, in)
			return
		}
		if !base32Only.MatchString(out) {
			t.Fatalf("normalised %q is not bare base32", out)
		}
		if again, err := NormalizeSecret(out); err != nil || again != out {
			t.Fatalf("not idempotent: %q -> %q, %v", out, again, err)
		}
		if _, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(out); err != nil {
			t.Fatalf("normalised secret does not decode: %v", err)
		}
		k, err := ParseSecret(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := k.At(time.Unix(59, 0)); err != nil {
			t.Fatalf("valid secret gives no code: %v", err)
		}
	})
}

func FuzzParseURI(f *testing.F) {
	for _, s := range []string{
		"otpauth://totp/ACME:alice?secret=JBSWY3DPEHPK3PXP&issuer=ACME&algorithm=SHA256&digits=8&period=60",
		"otpauth://hotp/a?secret=JBSWY3DPEHPK3PXP&counter=1",
		"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&digits=7",
		"otpauth://totp/a?secret=JBSWY3DPEHPK3PXP&period=0",
		"otpauth://totp/%zz",
		"otpauth://totp/?secret=a%20b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		k, err := ParseURI(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidURI) {
				t.Fatalf("error %v does not wrap ErrInvalidURI", err)
			}
			if u, perr := url.Parse(in); perr == nil {
				for _, v := range u.Query()["secret"] {
					noEcho(t, err, v)
				}
			}
			return
		}
		if err := k.Validate(); err != nil {
			t.Fatalf("accepted an invalid key: %v", err)
		}
		k2, err := ParseURI(k.URI().Reveal())
		if err != nil {
			t.Fatalf("round trip: %v", err)
		}
		if !k2.Secret.Equal(k.Secret) || k2.Digits != k.Digits || k2.Period != k.Period || k2.Algorithm != k.Algorithm || k2.Issuer != k.Issuer || k2.Label != k.Label {
			t.Fatalf("round trip changed the key: %+v -> %+v", k, k2)
		}
	})
}

// noEcho fails if err shows 16 or more consecutive base32 characters of the
// secret's normalised form: the secret, or a large part of it. (No run of 16
// letters occurs in the messages themselves.)
func noEcho(t *testing.T, err error, in string) {
	t.Helper()
	var b strings.Builder
	for _, r := range strings.ToUpper(in) {
		if (r >= 'A' && r <= 'Z') || (r >= '2' && r <= '7') {
			b.WriteRune(r)
		}
	}
	norm := b.String()
	msg := strings.ToUpper(err.Error())
	for i := 0; i+16 <= len(norm); i++ {
		if strings.Contains(msg, norm[i:i+16]) {
			t.Fatalf("error %q echoes part of the secret", err)
		}
	}
}

func BenchmarkCodeAt(b *testing.B) {
	k, _ := ParseSecret("JBSWY3DPEHPK3PXP")
	t := time.Unix(1_700_000_000, 0)
	for b.Loop() {
		if _, err := k.At(t); err != nil {
			b.Fatal(err)
		}
	}
}
