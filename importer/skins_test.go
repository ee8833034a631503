package importer

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rotator-pam/rotator/browser"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/templates"
)

// The nine senhasegura samples, each on the skin of its site
// (pages built from the markup those samples drive) import into templates
// that sign in there, in real Chromium, with the account's own URL: no
// absolute URL, no check of the real site's host name is left.
func TestSeguraSamplesSignInOnSkins(t *testing.T) {
	t.Parallel()
	if _, err := browser.FindChromium(""); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	for file, skin := range map[string]string{"Facebook.psc": "facebook", "Twitter.psc": "twitter", "Linkedin.psc": "linkedin",
		"AWS-console.psc": "aws", "FLOWONE-WEB.psc": "flowone", "OP5.psc": "op5", "REPORTING.psc": "reporting", "SWS.psc": "sws", "TSLEE_WEB.psc": "tslee"} {
		t.Run(skin, func(t *testing.T) {
			t.Parallel()
			src, err := os.ReadFile(filepath.Join("testdata", "segura", file))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Segura(skin+"-imported", src)
			if err != nil {
				t.Fatal(err)
			}
			tpl, diags := templates.Parse(skin+"-imported.yaml", res.YAML)
			if diags.HasErrors() {
				t.Fatal(diags.Err())
			}
			site, _, r := demoAccount(t, skin, tpl)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var slow []string
			err = r.RunTemplateTest(ctx, rotator.TemplateTest{Account: "alice", Template: tpl, Flow: templates.FlowLogin,
				OnStep: func(rep browser.StepReport) {
					if rep.Duration > 5*time.Second {
						slow = append(slow, rep.Line(false))
					}
				}})
			if err != nil {
				t.Fatalf("the imported %s sample does not sign in on its skin: %v\n%s", skin, err, res.YAML)
			}
			if u, _ := site.User("alice"); u.SignIns != 1 {
				t.Errorf("the flow passed, but the site counted %d sign-ins", u.SignIns)
			}
			if len(slow) > 0 {
				t.Errorf("steps that waited:\n%s", strings.Join(slow, "\n"))
			}
		})
	}
}
