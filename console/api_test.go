package console

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/demosite"
	"github.com/rotator-pam/rotator/otp"
	"github.com/rotator-pam/rotator/secret"
	"github.com/rotator-pam/rotator/store"
)

func (e *env) api(method, path string) (int, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func TestAPI(t *testing.T) {
	e := newEnv(t, false)
	e.add(demosite.UserSpec{Name: "bob", Password: "Bob-pass-123456", TOTPSecret: "JBSWY3DPEHPK3PXP"})
	e.add(demosite.UserSpec{Name: "carl", Password: "Carl-pass-12345"})
	ctx := context.Background()
	now := time.Now()
	e.con.Now = func() time.Time { return now }
	if err := e.store.Flag(ctx, "carl", store.StateNeedsOperator, "no stored password signs in"); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ReplacePassword(ctx, "bob", secret.New("Bob-pass-999999"), "test"); err != nil {
		t.Fatal(err)
	}

	code, body := e.api("GET", "/api/accounts")
	var rows []AccountRow
	if code != 200 || json.Unmarshal(body, &rows) != nil || len(rows) != 2 || rows[0].Name != "bob" || rows[1].State != store.StateNeedsOperator {
		t.Fatalf("accounts: %d %s", code, body)
	}
	code, body = e.api("GET", "/api/accounts/bob")
	var d AccountDetail
	if code != 200 || json.Unmarshal(body, &d) != nil || !d.HasTOTP || len(d.History) != 1 || d.History[0].RetiredAt.IsZero() {
		t.Fatalf("account: %d %s", code, body)
	}
	for _, s := range []string{"Bob-pass", "JBSWY3DP"} {
		if strings.Contains(string(body), s) {
			t.Errorf("the account's JSON holds a secret (%s)", s)
		}
	}
	code, body = e.api("GET", "/api/flags")
	var flags []Flag
	if code != 200 || json.Unmarshal(body, &flags) != nil || len(flags) != 1 || flags[0].Account != "carl" || flags[0].Held != nil {
		t.Fatalf("flags: %d %s", code, body)
	}
	for path, want := range map[string]int{"/api/accounts/nobody": 404, "/api/runs/42": 404, "/api/runs/x": 400,
		"/api/live/carl": 404} {
		if code, body := e.api("GET", path); code != want {
			t.Errorf("GET %s: %d %s", path, code, body)
		}
	}
	for path, want := range map[string]int{"/api/flags/carl/resolve": 409, "/api/flags/carl/abort": 409,
		"/api/accounts/carl/otp": 400, "/api/accounts/nobody/otp": 404} {
		if code, body := e.api("POST", path); code != want {
			t.Errorf("POST %s: %d %s", path, code, body)
		}
	}

	// The Token OTP field: the current code, its expiry and the next
	// code, as the RFC 6238 computation says; both steps are then used,
	// so the rotator never types them.
	code, body = e.api("POST", "/api/accounts/bob/otp")
	var o OTP
	if code != 200 || json.Unmarshal(body, &o) != nil {
		t.Fatalf("otp: %d %s", code, body)
	}
	k, _ := otp.ParseSecret("JBSWY3DPEHPK3PXP")
	cur, _ := k.At(now)
	next, _ := k.Next(now)
	if o.Code != cur.Code.Reveal() || o.Next != next.Code.Reveal() || !o.ExpiresAt.Equal(next.Start) || o.PeriodS != 30 ||
		o.RemainingMS != cur.Remaining(now).Milliseconds() {
		t.Fatalf("otp %+v, want %s then %s", o, cur.Code.Reveal(), next.Code.Reveal())
	}
	for _, step := range []uint64{cur.Step, next.Step} {
		if ok, _, err := e.store.ClaimStep(ctx, "bob", step); err != nil || ok {
			t.Errorf("step %d shown to an operator is still free for the rotator (%v)", step, err)
		}
	}
	log, _ := e.store.AuditLog(ctx, "bob")
	if last := log[len(log)-1]; last.Action != "otp.view" || !strings.HasPrefix(last.Actor, "api@") {
		t.Errorf("otp view not audited: %+v", last)
	}

	// Pages render for a signed-in operator.
	c := e.signIn()
	for _, p := range []string{"/", "/accounts/bob", "/flags"} {
		if r := e.request("GET", p, "", map[string]string{"Cookie": c.Name + "=" + c.Value}); r.StatusCode != 200 {
			t.Errorf("page %s: %s", p, r.Status)
		}
	}
	if r := e.request("GET", "/live/carl", "", map[string]string{"Cookie": c.Name + "=" + c.Value}); r.StatusCode != http.StatusConflict {
		t.Errorf("live page of an account with no held browser: %s", r.Status)
	}
}
