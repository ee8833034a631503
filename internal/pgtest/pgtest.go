// Package pgtest gives tests a throwaway PostgreSQL: one cluster per test
// binary, made with Debian's initdb in a temporary folder, run as the
// postgres user when the tests run as root (PostgreSQL refuses root), on a
// free loopback port with a random password, and removed when the tests
// end. Each test gets a database of its own.
//
// A package that uses it runs its tests through Main:
//
//	func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }
//
// Without PostgreSQL's programs (Debian's postgresql package) a test that
// asks for a database is skipped, or fails when $CI is set.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// cluster is the test binary's PostgreSQL.
type cluster struct {
	dir, bin string
	port     int
	password string
	cred     *syscall.Credential // the postgres user's, when run as root
}

var (
	once    sync.Once
	running *cluster
	failed  error
)

// Main runs the tests and then stops the cluster, if one was started.
func Main(m *testing.M) int {
	code := m.Run()
	if running != nil {
		running.stop()
	}
	return code
}

// URL returns the address of a new, empty database, dropped when the test
// ends.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(func() { running, failed = start() })
	if failed != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("PostgreSQL: %v", failed)
		}
		t.Skipf("PostgreSQL: %v", failed)
	}
	name := "t_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := running.exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := running.exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop test database: %v", err)
		}
	})
	return running.url(name)
}

// DataDir is the cluster's data folder (its tables and its WAL), for tests
// that look at what reached the disk; URL must have been called first.
func DataDir() string { return filepath.Join(running.dir, "data") }

// Exec runs a statement as the cluster's superuser (CHECKPOINT, say).
func Exec(ctx context.Context, sql string) error { return running.exec(ctx, sql) }

func (c *cluster) url(db string) string {
	u := url.URL{Scheme: "postgres", User: url.UserPassword("rotator", c.password),
		Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)), Path: "/" + db, RawQuery: "sslmode=disable"}
	return u.String()
}

func (c *cluster) exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.url("postgres"))
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

// binDir finds Debian's PostgreSQL programs: $ROTATOR_PG_BIN, or the
// newest /usr/lib/postgresql/*/bin.
func binDir() (string, error) {
	if d := os.Getenv("ROTATOR_PG_BIN"); d != "" {
		return d, nil
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool {
		a, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[i])))
		b, _ := strconv.Atoi(filepath.Base(filepath.Dir(dirs[j])))
		return a > b
	})
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", errors.New("no /usr/lib/postgresql/*/bin/initdb (apt-get install postgresql) and no $ROTATOR_PG_BIN")
}

func start() (*cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "rotator-pg-")
	if err != nil {
		return nil, err
	}
	c := &cluster{dir: dir, bin: bin, password: randomHex(16)}
	if err := c.setup(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := c.run(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return c, nil
}

// setup makes the cluster's folder (the postgres user's, when root) and
// runs initdb with a password of the test run's own.
func (c *cluster) setup() error {
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return fmt.Errorf("running as root and no postgres user to run PostgreSQL as: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		c.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(c.dir, uid, gid); err != nil {
			return err
		}
	}
	pwfile := filepath.Join(c.dir, "pw")
	if err := os.WriteFile(pwfile, []byte(c.password+"\n"), 0o600); err != nil {
		return err
	}
	if c.cred != nil {
		os.Chown(pwfile, int(c.cred.Uid), int(c.cred.Gid))
	}
	defer os.Remove(pwfile)
	return c.cmd("initdb", "-D", filepath.Join(c.dir, "data"), "-U", "rotator", "--pwfile", pwfile,
		"--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-instructions")
}

// run starts the server on a free loopback port, with its socket in the
// cluster's folder.
func (c *cluster) run() error {
	for attempt := 0; ; attempt++ {
		c.port = freePort()
		opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s -c max_connections=200",
			c.port, c.dir)
		err := c.cmd("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-l", filepath.Join(c.dir, "log"), "-w", "-t", "60", "-o", opts, "start")
		if err == nil || attempt == 2 {
			return err
		}
	}
}

func (c *cluster) stop() {
	c.cmd("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.dir)
}

func (c *cluster) cmd(name string, args ...string) error {
	cmd := exec.Command(filepath.Join(c.bin, name), args...)
	cmd.Dir = c.dir
	if c.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred}
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(c.dir, "log"))
		return fmt.Errorf("%s: %v\n%s%s", name, err, out, log)
	}
	return nil
}

func freePort() int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 15432
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Each runs f twice, as subtests named sqlite and postgres: a suite that
// must hold on both engines, as restic runs one backend suite on every
// backend. Within f, and its subtests, Location gives a new vault on that
// engine.
func Each(t *testing.T, f func(t *testing.T)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, f)
	}
}

// OnPostgres tells whether t runs on PostgreSQL: it is, or is a subtest
// of, Each's postgres run.
func OnPostgres(t testing.TB) bool { return strings.Contains(t.Name()+"/", "/postgres/") }

// Location is where t's next vault goes: a new SQLite file, or a new
// PostgreSQL database.
func Location(t testing.TB) string {
	if OnPostgres(t) {
		return URL(t)
	}
	return filepath.Join(t.TempDir(), "vault.db")
}
