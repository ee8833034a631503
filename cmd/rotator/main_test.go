package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
	"github.com/rotator-pam/rotator/internal/pgtest"
	"github.com/spf13/cobra"
)

func TestMain(m *testing.M) {
	if os.Getenv("ROTATOR_RUN_MAIN") == "1" {
		// The test binary standing in for rotator (crash test).
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		a := &app{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now}
		if u := os.Getenv(envFakeSite); u != "" {
			a.tune = fakeSiteTune(u)
		}
		code := run(ctx, os.Args[1:], a)
		stop()
		os.Exit(code)
	}
	testscript.Main(pgMain{m}, map[string]func(){
		"rotator": func() {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			code := run(ctx, os.Args[1:], &app{
				stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr, getenv: os.Getenv, now: time.Now,
			})
			stop()
			os.Exit(code)
		},
	})
}

// pgMain runs the tests, then stops the PostgreSQL cluster they started.
type pgMain struct{ m *testing.M }

func (p pgMain) Run() int { return pgtest.Main(p.m) }

// TestScripts runs the command-line scripts in testdata/: rotator as a user
// types it, with its exit codes, output and files.
func TestScripts(t *testing.T) {
	t.Parallel()
	testscript.Run(t, testscript.Params{
		Dir: "testdata",
		Setup: func(e *testscript.Env) error {
			e.Setenv("ROTATOR_DATA", filepath.Join(e.WorkDir, "data"))
			e.Setenv("XDG_CONFIG_HOME", filepath.Join(e.WorkDir, "xdg-config"))
			e.Setenv("TZ", "UTC")
			// A free loopback port for scripts that start the demo site.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				return err
			}
			e.Setenv("DEMOPORT", fmt.Sprint(ln.Addr().(*net.TCPAddr).Port))
			ln.Close()
			root, _ := filepath.Abs(filepath.Join("..", ".."))
			e.Setenv("REPO", root)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"totpmatch":   cmdTOTPMatch,
			"noplaintext": cmdNoPlaintext,
			"filehash":    cmdFileHash,
			"chmod":       cmdChmod,
			"filemode":    cmdFileMode,
			"waitport":    cmdWaitPort,
			"waitmatch":   cmdWaitMatch,
		},
	})
}

// referenceTOTP is an independent RFC 6238 implementation (SHA1, 6 digits,
// 30 s) to check rotator's output against.
func referenceTOTP(secret string, t time.Time) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(strings.NewReplacer(" ", "", "-", "", "=", "").Replace(secret)))
	if err != nil {
		panic(err)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(t.Unix()/30))
	mac := hmac.New(sha1.New, key)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0xf
	v := binary.BigEndian.Uint32(sum[off:]) & 0x7fffffff
	return fmt.Sprintf("%06d", v%1_000_000)
}

// totpmatch SECRET [next]: the first line of the last command's stdout
// starts with the reference code of SECRET for the current window (or the
// previous one, when the window turned while the command ran); with "next",
// the second line starts with the following window's code.
func cmdTOTPMatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 {
		ts.Fatalf("usage: totpmatch SECRET [next]")
	}
	lines := strings.Split(ts.ReadFile("stdout"), "\n")
	now := time.Now()
	first := strings.Fields(lines[0])
	if len(first) < 2 {
		ts.Fatalf("first line %q: want a code and the seconds left", lines[0])
	}
	ok := false
	for _, at := range []time.Time{now, now.Add(-30 * time.Second)} {
		if first[0] == referenceTOTP(args[0], at) {
			ok = true
			if len(args) > 1 && args[1] == "next" {
				if len(lines) < 2 || !strings.HasPrefix(lines[1], referenceTOTP(args[0], at.Add(30*time.Second))) {
					ts.Fatalf("second line %q is not the next window's code", lines[1])
				}
			}
		}
	}
	if !ok {
		ts.Fatalf("code %s is not the RFC 6238 code %s", first[0], referenceTOTP(args[0], now))
	}
	secs := strings.TrimSuffix(first[1], "s")
	var n int
	if _, err := fmt.Sscan(secs, &n); err != nil || n < 0 || n >= 30 {
		ts.Fatalf("seconds left %q not in [0, 30)", first[1])
	}
}

// noplaintext DIR STRING...: no file under DIR holds any STRING, as typed,
// upper-cased, or (for base32 secrets) decoded.
func cmdNoPlaintext(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: noplaintext DIR STRING...")
	}
	var needles [][]byte
	for _, s := range args[1:] {
		needles = append(needles, []byte(s), []byte(strings.ToUpper(s)))
		compact := strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(s))
		needles = append(needles, []byte(compact))
		if raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(compact); err == nil && len(raw) >= 8 {
			needles = append(needles, raw, []byte(hex.EncodeToString(raw)))
		}
	}
	dir := ts.MkAbs(args[0])
	files := 0
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		files++
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, n := range needles {
			if bytes.Contains(b, n) {
				ts.Fatalf("%s holds a secret in plaintext", filepath.Base(path))
			}
		}
		return nil
	})
	if err != nil {
		ts.Fatalf("%v", err)
	}
	ts.Logf("searched %d files", files)
}

// filehash FILE VAR: sets $VAR to FILE's SHA-256; `filehash FILE VAR check`
// fails unless it still matches.
func cmdFileHash(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: filehash FILE VAR [check]")
	}
	sum := sha256.Sum256([]byte(ts.ReadFile(args[0])))
	h := hex.EncodeToString(sum[:])
	if len(args) > 2 && args[2] == "check" {
		if ts.Getenv(args[1]) != h {
			ts.Fatalf("%s changed", args[0])
		}
		return
	}
	ts.Setenv(args[1], h)
}

// chmod MODE FILE
func cmdChmod(ts *testscript.TestScript, neg bool, args []string) {
	var mode uint32
	if neg || len(args) != 2 {
		ts.Fatalf("usage: chmod MODE FILE")
	}
	fmt.Sscanf(args[0], "%o", &mode)
	ts.Check(os.Chmod(ts.MkAbs(args[1]), os.FileMode(mode)))
}

// filemode MODE FILE: FILE's permission bits are MODE.
func cmdFileMode(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: filemode MODE FILE")
	}
	fi, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	if got := fmt.Sprintf("%04o", fi.Mode().Perm()); got != args[0] {
		ts.Fatalf("%s has mode %s, want %s", args[1], got, args[0])
	}
}

// TestExitCodes checks the codes scripts cannot see: 0, 1 and 2.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"ROTATOR_DATA": filepath.Join(dir, "data"), "HOME": dir}
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"help", []string{"--help"}, exitOK},
		{"init", []string{"init"}, exitOK},
		{"failure", []string{"account", "show", "nobody"}, exitFailure},
		{"unknown command", []string{"frobnicate"}, exitUsage},
		{"unknown subcommand", []string{"account", "frobnicate"}, exitUsage},
		{"group without command", []string{"account"}, exitUsage},
		{"unknown flag", []string{"account", "list", "--frobnicate"}, exitUsage},
		{"missing argument", []string{"otp"}, exitUsage},
		{"too many arguments", []string{"otp", "a", "b"}, exitUsage},
		{"bad flag value", []string{"account", "add", "x", "--template", "t", "--username", "u", "--totp-min-validity", "soon"}, exitUsage},
		{"bad name", []string{"account", "add", "a b", "--template", "t", "--username", "u"}, exitUsage},
		{"import without format", []string{"account", "import", "file.txt"}, exitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			got := run(context.Background(), tt.args, &app{stdin: strings.NewReader(""), stdout: &out, stderr: &errb,
				getenv: func(k string) string { return env[k] }, now: time.Now})
			if got != tt.want {
				t.Errorf("exit %d, want %d; stderr: %s", got, tt.want, errb.String())
			}
			if got != exitOK && strings.Count(strings.TrimSpace(errb.String()), "rotator: ") != 1 {
				t.Errorf("want one error line, got %q", errb.String())
			}
		})
	}
}

// Every command's help carries an example.
func TestHelpHasExamples(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Example == "" && c.Name() != "help" && c.Name() != "completion" {
			t.Errorf("%s has no example", c.CommandPath())
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd(&app{}))
}

// waitmatch FILE REGEXP: waits up to 10 s for FILE, written by a command
// running in the background, to match REGEXP (multi-line mode).
func cmdWaitMatch(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: waitmatch FILE REGEXP")
	}
	re, err := regexp.Compile("(?m)" + args[1])
	ts.Check(err)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(ts.MkAbs(args[0])); err == nil && re.Match(b) {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("%s does not match %q after 10 s", args[0], args[1])
}

// waitport PORT: waits up to 10 s for a loopback server on PORT.
func cmdWaitPort(ts *testscript.TestScript, neg bool, args []string) {
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		c, err := net.Dial("tcp", "127.0.0.1:"+args[0])
		if err == nil {
			c.Close()
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("nothing listens on 127.0.0.1:%s", args[0])
}
