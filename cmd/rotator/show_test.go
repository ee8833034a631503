package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

// account show lists every kept candidate with what recovery will do with
// it, and its value only with --reveal.
func TestAccountShowListsCandidates(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "data")
	if out, code := runRotator(t, data, "", "init"); code != 0 {
		t.Fatal(out)
	}
	if out, code := runRotator(t, data, "Show-pass-1234\n", "account", "add", "sam", "--template", "demo-social",
		"--username", "sam", "--url", "http://127.0.0.1:1/", "--password-stdin"); code != 0 {
		t.Fatal(out)
	}
	key, err := secret.LoadKeyFile(filepath.Join(data, "master.key"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(data, "vault.db"), key)
	if err != nil {
		t.Fatal(err)
	}
	for i, pw := range []string{"Refused-cand-1", "Sent-cand-2"} {
		seq, err := s.AddCandidate(ctx, "sam", secret.New(pw))
		if err == nil {
			err = s.MarkCandidate(ctx, "sam", seq, store.CandidateSubmitted)
		}
		if err == nil && i == 0 {
			err = s.MarkCandidate(ctx, "sam", seq, store.CandidateRefused)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	out, code := runRotator(t, data, "", "account", "show", "sam")
	if code != 0 {
		t.Fatal(out)
	}
	for _, want := range []string{"candidate #1", "refused by the page", "candidate #2", "submitted: recovery probes it first"} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in\n%s", want, out)
		}
	}
	if strings.Contains(out, "cand-") {
		t.Errorf("a candidate's value without --reveal:\n%s", out)
	}
	out, _ = runRotator(t, data, "", "account", "show", "sam", "--reveal")
	if !strings.Contains(out, "Sent-cand-2") || !strings.Contains(out, "Refused-cand-1") {
		t.Errorf("--reveal does not show the candidates:\n%s", out)
	}
}
