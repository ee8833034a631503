package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// selfSigned writes a certificate for 127.0.0.1 and its key.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "rotator test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalPKCS8PrivateKey(key)
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeTLS: with a certificate the console is HTTPS, and its session
// cookie is Secure; a certificate that does not load stops serve at once.
func TestServeTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	port := freePort(t)
	certFile, keyFile, pool := selfSigned(t, dir)
	if err := os.WriteFile(filepath.Join(dir, "config.yaml"), []byte(fmt.Sprintf(
		"serve:\n  addr: 127.0.0.1:%d\n  shutdown_timeout: 5s\n  tls_cert: %s\n  tls_key: %s\n", port, certFile, keyFile)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := runRotator(t, data, "", "init")
	if code != 0 {
		t.Fatal(out)
	}
	token := regexp.MustCompile(`console token:  (rtc_\S+)`).FindStringSubmatch(out)[1]
	p := startServe(t, data)
	if !p.waitLog(`"console":"https://127.0.0.1:`, 20*time.Second) {
		t.Fatalf("serve did not start over HTTPS:\n%s", p.log())
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := fmt.Sprintf("https://127.0.0.1:%d", port)
	resp, err := c.PostForm(base+"/login", url.Values{"token": {token}, "name": {"tls"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 || !cookies[0].Secure || !cookies[0].HttpOnly || cookies[0].SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in over TLS: %s %+v", resp.Status, cookies)
	}
	if _, err := http.Get(base + "/login"); err == nil {
		t.Error("plain HTTP client trusted a self-signed certificate")
	}
	if strings.Contains(p.log(), token) {
		t.Error("the token is in serve's log")
	}

	// A key that is not the certificate's: serve refuses to start.
	if err := os.WriteFile(keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, code = runRotator(t, data, "", "serve", "--addr", fmt.Sprintf("127.0.0.1:%d", freePort(t)))
	if code != 1 || !strings.Contains(out, "serve.tls_cert and serve.tls_key:") {
		t.Errorf("bad key: exit %d\n%s", code, out)
	}
}
