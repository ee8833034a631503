package pgtest

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// Two tests get two databases of one cluster, which is not run as root.
func TestURL(t *testing.T) {
	ctx := context.Background()
	a, b := URL(t), URL(t)
	if a == b {
		t.Fatal("one database for two callers")
	}
	conn, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var super bool
	var user string
	if err := conn.QueryRow(ctx, `SELECT current_setting('is_superuser') = 'on', current_user`).Scan(&super, &user); err != nil {
		t.Fatal(err)
	}
	if user != "rotator" || !super {
		t.Errorf("user %s, superuser %v", user, super)
	}
	if running.cred != nil && running.cred.Uid == 0 {
		t.Error("PostgreSQL runs as root")
	}
}
