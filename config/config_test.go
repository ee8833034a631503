package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestExampleFileIsValidAndComplete(t *testing.T) {
	c, err := Load(filepath.Join("..", "configs", "rotator.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(c, Default()) {
		t.Errorf("example %+v differs from the defaults %+v", c, Default())
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"unknown key", "totp:\n  min_valid: 3s\n", `c.yaml:2:3: unknown key "min_valid"`},
		{"top-level typo", "datadir: /x\n", `c.yaml:1:1: unknown key "datadir"`},
		{"bad schedule", "schedule:\n  default: every day\n", "schedule.default: schedule \"every day\""},
		{"min validity too large", "totp:\n  min_validity: 40s\n", "totp.min_validity: 40s must be between"},
		{"not a duration", "totp:\n  min_validity: five\n", "c.yaml:2:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("c.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want %q", err, tt.want)
			}
		})
	}
	c, err := Parse("c.yaml", []byte("schedule:\n  default: CRON_TZ=Europe/Paris 0 3 * * *\ntotp:\n  min_validity: 8s\n"))
	if err != nil || c.TOTP.MinValidity != 8*time.Second {
		t.Errorf("%+v %v", c, err)
	}
}

func TestResolvePrecedence(t *testing.T) {
	env := func(m map[string]string) Env { return func(k string) string { return m[k] } }
	tests := []struct {
		name      string
		file      string
		flag      string
		vars      map[string]string
		wantData  string
		wantKeyIn string
	}{
		{"home default", "", "", map[string]string{"HOME": "/h"}, "/h/.local/share/rotator", "/h/.local/share/rotator/master.key"},
		{"xdg", "", "", map[string]string{"HOME": "/h", "XDG_DATA_HOME": "/x"}, "/x/rotator", "/x/rotator/master.key"},
		{"file beats xdg", "data_dir: /f\n", "", map[string]string{"XDG_DATA_HOME": "/x"}, "/f", "/f/master.key"},
		{"env beats file", "data_dir: /f\n", "", map[string]string{EnvData: "/e"}, "/e", "/e/master.key"},
		{"flag beats env", "data_dir: /f\n", "/g", map[string]string{EnvData: "/e"}, "/g", "/g/master.key"},
		{"key from file", "master_key_file: /k/key\n", "/g", nil, "/g", "/k/key"},
		{"key env beats file", "master_key_file: /k/key\n", "/g", map[string]string{EnvMasterKeyFile: "/s/key"}, "/g", "/s/key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse("c.yaml", []byte(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Resolve(tt.flag, env(tt.vars)); err != nil {
				t.Fatal(err)
			}
			if c.DataDir != tt.wantData || c.MasterKeyFile != tt.wantKeyIn {
				t.Errorf("data %q key %q", c.DataDir, c.MasterKeyFile)
			}
		})
	}
	var c Config
	if err := c.Resolve("", env(nil)); err == nil {
		t.Error("no HOME and no data dir accepted")
	}
}

func TestFromEnvironment(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"HOME": dir}
	get := func(k string) string { return env[k] }
	// No file at all: defaults.
	c, err := FromEnvironment("", "", get)
	if err != nil || c.TOTP.MinValidity != 5*time.Second {
		t.Fatalf("%+v %v", c, err)
	}
	// An explicit file that does not exist is an error.
	if _, err := FromEnvironment(filepath.Join(dir, "none.yaml"), "", get); err == nil {
		t.Error("missing explicit config accepted")
	}
	// The default location is read when present.
	if err := os.MkdirAll(filepath.Join(dir, ".config", "rotator"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".config", "rotator", "config.yaml"), []byte("totp:\n  min_validity: 9s\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err = FromEnvironment("", "", get)
	if err != nil || c.TOTP.MinValidity != 9*time.Second {
		t.Errorf("%+v %v", c, err)
	}
}

// TestServeAddrLoopbackOrTLS: the console listens beyond this machine only
// over TLS, in a file and for an address a flag sets.
func TestServeAddrLoopbackOrTLS(t *testing.T) {
	tests := []struct {
		name, addr, cert string
		want             string // "" when valid
	}{
		{"loopback v4", "127.0.0.1:8787", "", ""},
		{"loopback v6", "[::1]:8787", "", ""},
		{"localhost", "localhost:8787", "", ""},
		{"any port", "127.0.0.1:0", "", ""},
		{"all interfaces", "0.0.0.0:8787", "", "0.0.0.0:8787 is not a loopback address: the console serves beyond this machine only over TLS (set serve.tls_cert and serve.tls_key)"},
		{"public address", "192.0.2.10:8787", "", "192.0.2.10:8787 is not a loopback address"},
		{"a name", "rotator.example:8787", "", "rotator.example:8787 is not a loopback address"},
		{"beyond loopback with TLS", "0.0.0.0:8787", "/c.pem", ""},
		{"no port", "127.0.0.1", "", `"127.0.0.1": address 127.0.0.1: missing port in address`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Default().Serve
			s.Addr, s.TLSCert = tt.addr, tt.cert
			err := s.CheckAddr()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("CheckAddr(%s) = %v, want %q", tt.addr, err, tt.want)
			}
			// A file says the same, naming the setting.
			in := "serve:\n  addr: \"" + tt.addr + "\"\n"
			if tt.cert != "" {
				in += "  tls_cert: " + tt.cert + "\n  tls_key: /k.pem\n"
			}
			_, err = Parse("c.yaml", []byte(in))
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), "serve.addr: "+tt.want)) {
				t.Errorf("Parse(addr %s) = %v, want serve.addr: %q", tt.addr, err, tt.want)
			}
		})
	}
}

// A config file that holds the database password must be its owner's
// alone; without a password the mode is the owner's business.
func TestStorePasswordNeedsAPrivateFile(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		url  string
		mode os.FileMode
		ok   bool
	}{
		{"postgres://rotator:s3cret@db/rotator", 0o644, false},
		{"postgres://rotator@db/rotator?password=s3cret", 0o640, false},
		{"postgres://rotator:s3cret@db/rotator", 0o600, true},
		{"postgres://rotator@db/rotator", 0o644, true},
	} {
		p := filepath.Join(dir, "config.yaml")
		os.WriteFile(p, []byte("store:\n  url: \""+c.url+"\"\n"), 0o600)
		os.Chmod(p, c.mode)
		_, err := Load(p)
		if (err == nil) != c.ok || (err != nil && strings.Contains(err.Error(), "s3cret")) {
			t.Errorf("%s at %04o: %v", c.url, c.mode, err)
		}
	}
}

// serve.advertise: the relay of a live view (frames out, the operator's
// keys in, a signed request) goes in clear only on this machine.
func TestAdvertiseLoopbackOrTLS(t *testing.T) {
	for adv, want := range map[string]string{
		"https://worker1.internal:8787": "",
		"http://127.0.0.1:8787":         "",
		"http://[::1]:8787":             "",
		"http://localhost:8787":         "",
		"http://worker1.internal:8787":  "beyond loopback, the other workers reach this console only over TLS",
		"http://10.0.0.11:8787":         "beyond loopback, the other workers reach this console only over TLS",
		"ftp://worker1.internal":        "an http:// or https:// URL",
	} {
		_, err := Parse("c.yaml", []byte("serve:\n  advertise: \""+adv+"\"\n"))
		if (err == nil) != (want == "") || (err != nil && !strings.Contains(err.Error(), "serve.advertise: ") || err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("advertise %s: %v, want %q", adv, err, want)
		}
	}
}
