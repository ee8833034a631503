// Package config holds rotator's settings: defaults that work with no file
// at all, a strict YAML file on top (an unknown key is an error with
// file:line:col), then environment variables and flags, then Validate.
//
// Precedence, highest first: command-line flag, environment variable,
// config file, default.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/rotator-pam/rotator/internal/weburl"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/schedule"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/strictyaml"
)

// Environment variables rotator reads.
const (
	EnvData          = "ROTATOR_DATA"
	EnvMasterKeyFile = "ROTATOR_MASTER_KEY_FILE"
	EnvConfig        = "ROTATOR_CONFIG"
	EnvStore         = "ROTATOR_STORE"
)

// File names inside the data directory.
const (
	VaultFile     = "vault.db"
	MasterKeyFile = "master.key"
)

// Config is every setting.
type Config struct {
	// DataDir holds the vault and, by default, the master key file.
	DataDir string `yaml:"data_dir"`
	// MasterKeyFile is the 32-byte key file; default DataDir/master.key.
	MasterKeyFile string    `yaml:"master_key_file"`
	Store         Store     `yaml:"store"`
	TOTP          TOTP      `yaml:"totp"`
	Schedule      Schedule  `yaml:"schedule"`
	Browser       Browser   `yaml:"browser"`
	Templates     Templates `yaml:"templates"`
	Rotation      Rotation  `yaml:"rotation"`
	Serve         Serve     `yaml:"serve"`
	Console       Console   `yaml:"console"`
	Notify        Notify    `yaml:"notify"`
}

// Store settings: where the vault is.
type Store struct {
	// URL is a PostgreSQL database (postgres://USER@HOST/DB?sslmode=...),
	// shared by any number of workers; empty: the SQLite file vault.db in
	// the data directory. Its password belongs in the file, in
	// ROTATOR_STORE, or in PGPASSFILE, never in a flag.
	URL string `yaml:"url"`
}

// Console settings: the operator console that serve runs.
type Console struct {
	// KeepPaused is how long a paused rotation's browser waits for an
	// operator before it closes.
	KeepPaused time.Duration `yaml:"keep_paused"`
	// MaxHeld is how many browsers wait for operators at once.
	MaxHeld int `yaml:"max_held"`
	// SessionTTL is how long an operator's sign-in lasts.
	SessionTTL time.Duration `yaml:"session_ttl"`
}

// Notify settings.
type Notify struct {
	// WebhookURL receives a JSON POST when an account is paused for an
	// operator, a rotation fails, or an account goes to needs_operator.
	WebhookURL string `yaml:"webhook_url"`
}

// Serve settings: the daemon.
type Serve struct {
	// Addr is where the console, /healthz and /metrics listen. A
	// non-loopback address needs TLSCert and TLSKey.
	Addr string `yaml:"addr"`
	// TLSCert and TLSKey are PEM files; both or neither.
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// Hosts are the names the console answers to besides loopback ones
	// and the address's own host (the Host header; against DNS
	// rebinding).
	Hosts []string `yaml:"hosts"`
	// Advertise is the URL at which the other workers of a shared
	// (PostgreSQL) vault reach this worker's console, to relay the live
	// view of a page this worker holds. Empty: the address's own, unless
	// it listens on every interface.
	Advertise string `yaml:"advertise"`
	// PeerCA is a PEM file of the certificate authorities whose
	// certificates the other workers' consoles may present (default: the
	// system's, plus this worker's own certificate).
	PeerCA string `yaml:"peer_ca"`
	// MaxConcurrent rotations at once, and PerSite against one site.
	MaxConcurrent int `yaml:"max_concurrent"`
	PerSite       int `yaml:"per_site"`
	// ShutdownTimeout is how long running rotations get to finish on
	// SIGTERM before they are cancelled.
	ShutdownTimeout time.Duration `yaml:"shutdown_timeout"`
}

// CheckAddr is the console's rule: it listens on loopback unless TLS is
// configured. The error names the address, not the setting, so that a
// flag that overrides serve.addr can say it in its own words.
func (s Serve) CheckAddr() error {
	host, _, err := net.SplitHostPort(s.Addr)
	if err != nil {
		return fmt.Errorf("%q: %v", s.Addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) && s.TLSCert == "" {
		return fmt.Errorf("%s is not a loopback address: the console serves beyond this machine only over TLS (set serve.tls_cert and serve.tls_key)", s.Addr)
	}
	return nil
}

// Policy is the cap and the gap these settings set, the one rule the
// scheduler and every run apply.
func (r Rotation) Policy() schedule.Policy {
	return schedule.Policy{MaxChanges: r.MaxChangesPerDay, MinGap: r.MinGap}
}

// Rotation settings.
type Rotation struct {
	// MaxChangesPerDay caps password changes per account in any rolling 24
	// hours: 1 or 2. An account may go higher only with an audited
	// override (rotator account limit NAME N --override).
	MaxChangesPerDay int `yaml:"max_changes_per_day"`
	// KeepRuns is how many runs' artifacts (screenshots, pages) are kept
	// per account.
	KeepRuns int `yaml:"keep_runs"`
	// MaxCandidates bounds new passwords tried when a site refuses one.
	MaxCandidates int `yaml:"max_candidates"`
	// MinGap is the least time between two changes of one account.
	MinGap time.Duration `yaml:"min_gap"`
}

// Browser settings.
type Browser struct {
	// Bin is the Chromium binary; empty: the first of chromium,
	// chromium-browser, google-chrome on PATH.
	Bin string `yaml:"bin"`
	// User is who Chromium runs as when rotator runs as root (Chromium
	// never runs as root); empty: a uid of each Chromium's own, which no
	// account and no other process has.
	User string `yaml:"user"`
}

// Templates settings.
type Templates struct {
	// Dir is a folder of the operator's own templates, searched by name
	// before the ones rotator ships.
	Dir string `yaml:"dir"`
}

// TOTP settings.
type TOTP struct {
	// MinValidity: a code with less time left is not used; the next window's
	// is awaited. Accounts may override it.
	MinValidity time.Duration `yaml:"min_validity"`
}

// Schedule settings.
type Schedule struct {
	// Default is the cron spec of accounts added without --schedule.
	Default string `yaml:"default"`
	// Jitter delays each run by a stable amount up to this, spreading
	// accounts with the same schedule.
	Jitter time.Duration `yaml:"jitter"`
	// BackoffBase and BackoffMax bound the wait after failed rotations
	// (exponential, with jitter); MaxFailures in a row send an account to
	// needs_operator.
	BackoffBase time.Duration `yaml:"backoff_base"`
	BackoffMax  time.Duration `yaml:"backoff_max"`
	MaxFailures int           `yaml:"max_failures"`
}

// Default returns the settings used when nothing else is given. Paths that
// depend on the environment are resolved by Resolve.
func Default() Config {
	return Config{
		TOTP:     TOTP{MinValidity: otp.DefaultMinValidity},
		Schedule: Schedule{Default: "@daily", Jitter: 10 * time.Minute, BackoffBase: 15 * time.Minute, BackoffMax: 12 * time.Hour, MaxFailures: 3},
		Serve:    Serve{Addr: "127.0.0.1:8787", MaxConcurrent: 2, PerSite: 1, ShutdownTimeout: 2 * time.Minute, Hosts: []string{}},
		Rotation: Rotation{MaxChangesPerDay: 2, KeepRuns: 10, MaxCandidates: 3, MinGap: 6 * time.Hour},
		Console:  Console{KeepPaused: 30 * time.Minute, MaxHeld: 4, SessionTTL: 12 * time.Hour},
	}
}

// Parse reads a config file's content over the defaults.
func Parse(file string, data []byte) (Config, error) {
	c := Default()
	if err := strictyaml.Decode(file, data, &c); err != nil {
		return Config{}, err
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// Load reads the config file at path.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	c, err := Parse(path, data)
	if err != nil {
		return c, err
	}
	// A database password in a file others can read is theirs: refused,
	// as ssh refuses a readable key.
	if c.Store.URL != "" && store.HasPassword(c.Store.URL) {
		if fi, serr := os.Stat(path); serr == nil && fi.Mode().Perm()&0o077 != 0 {
			return Config{}, fmt.Errorf("%s holds the database password in store.url and is mode %04o: other users can read it; chmod 600 %s", path, fi.Mode().Perm(), path)
		}
	}
	return c, nil
}

// FieldError is a setting with a bad value.
type FieldError struct {
	Field string
	Msg   string
}

func (e FieldError) Error() string { return e.Field + ": " + e.Msg }

// Validate checks every setting and returns all problems joined.
func (c Config) Validate() error {
	var errs []error
	if c.TOTP.MinValidity < 0 || c.TOTP.MinValidity >= 30*time.Second {
		errs = append(errs, FieldError{"totp.min_validity", fmt.Sprintf("%v must be between 0s and 30s (exclusive)", c.TOTP.MinValidity)})
	}
	if c.Rotation.MaxChangesPerDay < 1 || c.Rotation.MaxChangesPerDay > 2 {
		errs = append(errs, FieldError{"rotation.max_changes_per_day", fmt.Sprintf("%d: must be 1 or 2 (an account may go higher only with an audited override)", c.Rotation.MaxChangesPerDay)})
	}
	if c.Rotation.MinGap < 0 || c.Rotation.MinGap > 24*time.Hour {
		errs = append(errs, FieldError{"rotation.min_gap", fmt.Sprintf("%v: must be between 0s and 24h", c.Rotation.MinGap)})
	}
	if c.Schedule.Jitter < 0 || c.Schedule.BackoffBase <= 0 || c.Schedule.BackoffMax < c.Schedule.BackoffBase || c.Schedule.MaxFailures < 1 {
		errs = append(errs, FieldError{"schedule", "jitter >= 0, 0 < backoff_base <= backoff_max, max_failures >= 1"})
	}
	if c.Serve.MaxConcurrent < 1 || c.Serve.PerSite < 1 || c.Serve.ShutdownTimeout <= 0 || c.Serve.Addr == "" {
		errs = append(errs, FieldError{"serve", "addr set, max_concurrent >= 1, per_site >= 1, shutdown_timeout > 0"})
	}
	if (c.Serve.TLSCert == "") != (c.Serve.TLSKey == "") {
		errs = append(errs, FieldError{"serve", "tls_cert and tls_key go together"})
	}
	if a := c.Serve.Advertise; a != "" {
		if u, err := url.Parse(a); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
			errs = append(errs, FieldError{"serve.advertise", fmt.Sprintf("%q: an http:// or https:// URL with a host and no path", a)})
		} else if ip := net.ParseIP(u.Hostname()); u.Scheme == "http" && u.Hostname() != "localhost" && (ip == nil || !ip.IsLoopback()) {
			// The relay carries the held page's frames and the operator's
			// keys, and a signed request good at the holding worker for
			// 30 s: never in clear beyond this machine.
			errs = append(errs, FieldError{"serve.advertise", fmt.Sprintf("%q: beyond loopback, the other workers reach this console only over TLS (https://)", a)})
		}
	}
	if c.Serve.Addr != "" {
		if err := c.Serve.CheckAddr(); err != nil {
			errs = append(errs, FieldError{"serve.addr", err.Error()})
		}
	}
	if c.Console.KeepPaused < time.Minute || c.Console.KeepPaused > 24*time.Hour || c.Console.MaxHeld < 0 || c.Console.SessionTTL < time.Minute {
		errs = append(errs, FieldError{"console", "keep_paused between 1m and 24h, max_held >= 0 (0: keep no browser), session_ttl >= 1m"})
	}
	if c.Notify.WebhookURL != "" {
		if !weburl.Is(c.Notify.WebhookURL) {
			errs = append(errs, FieldError{"notify.webhook_url", "must be an http or https URL"})
		}
	}
	if c.Rotation.KeepRuns < 1 {
		errs = append(errs, FieldError{"rotation.keep_runs", "must be at least 1"})
	}
	if c.Rotation.MaxCandidates < 1 || c.Rotation.MaxCandidates > 10 {
		errs = append(errs, FieldError{"rotation.max_candidates", "must be between 1 and 10"})
	}
	if c.Store.URL != "" && !store.IsURL(c.Store.URL) {
		errs = append(errs, FieldError{"store.url", "must be a postgres:// URL (empty: the SQLite file in the data directory)"})
	}
	if c.Schedule.Default != "" {
		if _, err := schedule.Parse(c.Schedule.Default); err != nil {
			errs = append(errs, FieldError{"schedule.default", err.Error()})
		}
	}
	return errors.Join(errs...)
}

// Env reads environment variables; os.Getenv in main, a map in tests.
type Env func(string) string

// Resolve fills the paths: dataFlag (--data) beats ROTATOR_DATA beats the
// file's data_dir beats $XDG_DATA_HOME/rotator beats ~/.local/share/rotator;
// ROTATOR_MASTER_KEY_FILE beats master_key_file beats DataDir/master.key.
func (c *Config) Resolve(dataFlag string, env Env) error {
	switch {
	case dataFlag != "":
		c.DataDir = dataFlag
	case env(EnvData) != "":
		c.DataDir = env(EnvData)
	case c.DataDir != "":
	case env("XDG_DATA_HOME") != "":
		c.DataDir = filepath.Join(env("XDG_DATA_HOME"), "rotator")
	case env("HOME") != "":
		c.DataDir = filepath.Join(env("HOME"), ".local", "share", "rotator")
	default:
		return errors.New("no data directory: pass --data DIR or set ROTATOR_DATA (HOME is not set)")
	}
	if u := env(EnvStore); u != "" {
		c.Store.URL = u
	}
	if k := env(EnvMasterKeyFile); k != "" {
		c.MasterKeyFile = k
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, MasterKeyFile)
	}
	var err error
	if c.DataDir, err = filepath.Abs(c.DataDir); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	if c.MasterKeyFile, err = filepath.Abs(c.MasterKeyFile); err != nil {
		return fmt.Errorf("master key file: %w", err)
	}
	return nil
}

// LegacyProfilesDir is where rotator before 0.9 kept a Chromium profile per
// account; its cookie files are readable without the master key, so it is
// removed when found (browser state now lives in the vault).
func (c Config) LegacyProfilesDir() string {
	return filepath.Join(c.DataDir, "profiles")
}

// ArtifactDir is where an account's runs keep screenshots and pages.
func (c Config) ArtifactDir(account string) string {
	return filepath.Join(c.DataDir, "artifacts", account)
}

// VaultPath is where the vault is: store.url (a PostgreSQL URL), or the
// file vault.db in the data directory.
func (c Config) VaultPath() string {
	if c.Store.URL != "" {
		return c.Store.URL
	}
	return filepath.Join(c.DataDir, VaultFile)
}

// FromEnvironment loads the config file named by configFlag (--config), else
// ROTATOR_CONFIG, else $XDG_CONFIG_HOME/rotator/config.yaml or
// ~/.config/rotator/config.yaml if it exists, else the defaults; then
// resolves paths.
func FromEnvironment(configFlag, dataFlag string, env Env) (Config, error) {
	path := configFlag
	if path == "" {
		path = env(EnvConfig)
	}
	explicit := path != ""
	if !explicit {
		switch {
		case env("XDG_CONFIG_HOME") != "":
			path = filepath.Join(env("XDG_CONFIG_HOME"), "rotator", "config.yaml")
		case env("HOME") != "":
			path = filepath.Join(env("HOME"), ".config", "rotator", "config.yaml")
		}
	}
	c := Default()
	if path != "" {
		loaded, err := Load(path)
		switch {
		case err == nil:
			c = loaded
		case !explicit && errors.Is(err, fs.ErrNotExist):
		default:
			return Config{}, err
		}
	}
	if err := c.Resolve(dataFlag, env); err != nil {
		return Config{}, err
	}
	return c, nil
}
