package demosite

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestListen: the site answers on the port chosen, Wait returns when its
// context ends, and the port is closed after.
func TestListen(t *testing.T) {
	s, err := Listen("127.0.0.1:0", New(Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.URL(), "http://127.0.0.1:") || strings.HasSuffix(s.URL(), ":0/") {
		t.Errorf("URL %s", s.URL())
	}
	resp, err := http.Get(s.URL() + "login")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<form") {
		t.Errorf("GET /login: %d\n%s", resp.StatusCode, body)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Wait(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Wait: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after its context ended")
	}
	if _, err := http.Get(s.URL()); err == nil {
		t.Error("the site still answers after Wait")
	}
	if _, err := Listen(s.Addr.String()+"x", New(Options{})); err == nil {
		t.Error("a bad address was accepted")
	}
}
