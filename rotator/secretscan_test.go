package rotator

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/pbkdf2"
	"crypto/sha1"
	"database/sql"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/rotator-pam/rotator/internal/demoacct"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
	"github.com/rotator-pam/rotator/templates"
)

// reactSite is a sign-in page in the style of React's controlled inputs:
// every input's value is copied into its value attribute and into visible
// text, the site sets a session cookie and local storage, and the sign-in
// never completes, so every run fails and saves its artifacts.
func reactSite(cookie string) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/login" {
			http.NotFound(w, r)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "sid", Value: cookie, Path: "/", MaxAge: 3600, HttpOnly: true})
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>sign in</title>
<form onsubmit="return false">
<input id="user" name="user"> <input id="pw" name="pw" type="password"> <input id="otp" name="otp">
<div id="echo"></div><button id="go" type="button">Sign in</button></form>
<script>
localStorage.setItem("session", %q);
for (const el of document.querySelectorAll("input")) el.addEventListener("input", () => {
  el.setAttribute("value", el.value);
  document.getElementById("echo").textContent += el.value + " ";
});
</script>`, cookie)
	}))
}

// After runs that fail on a React-style page, nothing in the data folder
// holds a password, a TOTP code, or the site's session cookie, not even in
// a Chromium cookie file decrypted with Chromium's public "v10" key.
func TestNoReadableSecretInTheDataFolder(t *testing.T) {
	t.Parallel()
	needChromium(t)
	const cookie = "sessioncookie-canary-4b1d9e"
	srv := reactSite(cookie)
	defer srv.Close()
	dir := t.TempDir()
	st, err := store.Create(context.Background(), filepath.Join(dir, "vault.db"), secret.NewMasterKey())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	key, err := otp.ParseSecret(demoSecret)
	if err != nil {
		t.Fatal(err)
	}
	key.Period = demoacct.ShortPeriod * time.Second // the second sign-in waits for a new step
	const password = "Password-canary-91f3c7"
	if err := st.AddAccount(context.Background(), store.NewAccount{Account: store.Account{Name: "rita", Template: "react",
		Username: "rita", SiteURL: srv.URL + "/", TOTP: &store.TOTP{Key: key, MinValidity: key.Period / 2}}, Password: secret.New(password)}); err != nil {
		t.Fatal(err)
	}
	tpl, diags := templates.Parse("react.yaml", []byte(`name: react
base_url: http://127.0.0.1:1/
timeouts: {step: 2s}
flows:
  login:
    - goto: /login
    - fill: "#user"
      value: "{{ username }}"
    - fill: "#pw"
      value: "{{ password }}"
    - totp: "#otp"
    - click: "#go"
    - expect: {visible: "#welcome"}
  change: [{goto: /login}, {expect: {visible: "#welcome"}}]
  logout: [{goto: /login}]
`))
	if tpl == nil {
		t.Fatal(diags.Err())
	}
	r := &Rotator{
		Store:           st,
		Opener:          BrowserOpener{Chromium: testChromium, State: st},
		Templates:       func(string) (*templates.Template, error) { return tpl, nil },
		Actor:           "test",
		TOTPMinValidity: time.Second,
		ArtifactDir:     func(a string) string { return filepath.Join(dir, "artifacts", a) },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	for _, op := range []string{"verify", "rotate"} {
		var res Result
		if op == "verify" {
			res, err = r.Verify(ctx, "rita")
		} else {
			res, err = r.Rotate(ctx, "rita")
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.Outcome != rotation.Failed {
			t.Fatalf("%s: %s %s", op, res.Outcome, res.Reason)
		}
	}
	// What must not be readable: the password, every TOTP code of the
	// time the runs took, the session cookie.
	needles := [][]byte{[]byte(password), []byte(cookie)}
	for tm := start.Add(-key.Period); tm.Before(time.Now().Add(key.Period)); tm = tm.Add(key.Period) {
		tok, err := key.At(tm)
		if err != nil {
			t.Fatal(err)
		}
		needles = append(needles, []byte(tok.Code.Reveal()))
	}
	artifacts := 0
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if filepath.Ext(path) == ".html" {
			artifacts++
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if d.Name() == "Cookies" {
			data = append(data, decryptV10Cookies(t, path)...)
		}
		for i, n := range needles {
			if bytes.Contains(data, n) {
				t.Errorf("%s holds secret #%d in readable form", path, i)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if artifacts == 0 {
		t.Fatal("the failed runs saved no page: nothing was scanned")
	}
	// The cookie is kept, encrypted, for the next run.
	saved, err := st.Cookies(context.Background(), "rita")
	if err != nil || !bytes.Contains(saved, []byte(cookie)) {
		t.Errorf("the site's cookie is not kept in the vault (%v)", err)
	}
}

// decryptV10Cookies opens a Chromium cookie database and decrypts its
// values the way anyone can: Linux Chromium's "v10" key is public.
func decryptV10Cookies(t *testing.T, path string) []byte {
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.Query(`SELECT encrypted_value FROM cookies`)
	if err != nil {
		return nil
	}
	defer rows.Close()
	key, err := pbkdf2.Key(sha1.New, "peanuts", []byte("saltysalt"), 1, 16)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	var out []byte
	for rows.Next() {
		var v []byte
		if rows.Scan(&v) != nil || !bytes.HasPrefix(v, []byte("v10")) || (len(v)-3)%aes.BlockSize != 0 {
			continue
		}
		pt := make([]byte, len(v)-3)
		cipher.NewCBCDecrypter(block, bytes.Repeat([]byte{' '}, aes.BlockSize)).CryptBlocks(pt, v[3:])
		out = append(out, pt...)
	}
	return out
}
