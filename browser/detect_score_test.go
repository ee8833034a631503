package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
	"golang.org/x/net/html"
)

// The detector is scored by site: the labelled pages are split into
// scoreFolds folds so that all pages of one site fall in the same fold.
// The held-out folds were set aside before any rule was tuned against
// this split: rules are written while looking at the other folds' misses
// only, and the figure that counts, and that the floors guard, is the
// held-out one. The misses this test writes out (ROTATOR_SCORE_OUT) are
// the tuning folds' only, so that the held-out pages stay unseen.
//
// Folds 2 and 3 were chosen, before scoring, because between them they
// hold the one page that labels one-time codes and 11 of the 20
// new-password fields: the rarest fields are then measured on pages no
// rule was tuned on. (The rules older than the split, issue 13's, were
// written seeing every page: for them the held-out figure flatters.)
const scoreFolds = 5

func heldOut(fold int) bool { return fold == 2 || fold == 3 }

// pageKind is the kind of form a page's file name ends with.
var pageKind = regexp.MustCompile(`_(login|change-password|password-reset|reset_password|otp|2fa-verification-step)$`)

// siteOf names the site a labelled page comes from. Captured pages are
// named after their host ("account_mail_ru_login.html") or their site
// ("netflix_change-password.html"); both give the registrable name
// ("mail", "netflix"), so pages of one site, whatever their host, share
// it. Merging two sites that share a name only makes a fold coarser.
func siteOf(file string) string {
	parts := strings.Split(pageKind.ReplaceAllString(strings.TrimSuffix(file, ".html"), ""), "_")
	if len(parts) > 1 && isTLD(parts[len(parts)-1]) {
		parts = parts[:len(parts)-1]
		if len(parts) > 1 && secondLevel[parts[len(parts)-1]] {
			parts = parts[:len(parts)-1]
		}
		return parts[len(parts)-1]
	}
	for len(parts) > 1 && hostPrefix[parts[0]] {
		parts = parts[1:]
	}
	return parts[0]
}

func isTLD(s string) bool {
	return len(s) == 2 || set("com", "net", "org", "edu", "gov", "int", "info", "email", "tv", "vin")[s]
}

var (
	secondLevel = set("co", "com", "ac", "gov", "go", "ne", "or", "edu", "org", "net")
	hostPrefix  = set("www", "www1", "www2", "account", "accounts", "my", "login", "secure", "sso", "auth", "id", "web", "webmail", "mail")
)

// foldOf puts a site in a fold by a hash of its name: stable, and blind
// to what the page holds.
func foldOf(site string) int {
	h := fnv.New32a()
	h.Write([]byte(site))
	return int(h.Sum32() % scoreFolds)
}

// loginForms finds the labelled login forms (../shared/data/login-forms
// beside the repository, or $ROTATOR_LOGIN_FORMS).
func loginForms(t *testing.T) string {
	dir := os.Getenv("ROTATOR_LOGIN_FORMS")
	if dir == "" {
		dir = filepath.Join("..", "..", "shared", "data", "login-forms")
	}
	if _, err := os.Stat(filepath.Join(dir, "ddg-expectations.json")); err != nil {
		t.Skipf("no labelled login forms at %s (set ROTATOR_LOGIN_FORMS): %v", dir, err)
	}
	return dir
}

// hiddenAttr says which attributes the detector must not see: the
// labels, and what other detectors left on the captured page (Chrome's
// autofill-information, DuckDuckGo's data-ddg-*). No live page has them.
func hiddenAttr(key string) bool {
	return strings.HasPrefix(key, "data-manual-") || strings.HasPrefix(key, "data-ddg-") || key == "autofill-information"
}

// stripLabels removes the hidden attributes from the page and puts an
// opaque number (data-rt-n) on each element that had a label; it returns
// the page and the labels in document order (label i is on data-rt-n
// i+1). The detector sees no label.
func stripLabels(page string) (string, []string) {
	var labels []string
	var b strings.Builder
	z := html.NewTokenizer(strings.NewReader(page))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			break
		}
		raw := string(z.Raw())
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken || !strings.Contains(raw, "data-") && !strings.Contains(raw, "autofill-information") {
			b.WriteString(raw)
			continue
		}
		tok := z.Token()
		label := ""
		attrs := tok.Attr[:0]
		for _, a := range tok.Attr {
			switch {
			case a.Key == "data-manual-scoring":
				label = a.Val
			case a.Key == "data-manual-submit" && label == "":
				label = "submit"
			case hiddenAttr(a.Key):
			default:
				attrs = append(attrs, a)
			}
		}
		if label != "" {
			labels = append(labels, label)
			attrs = append(attrs, html.Attribute{Key: "data-rt-n", Val: strconv.Itoa(len(labels))})
		}
		tok.Attr = attrs
		b.WriteString(tok.String())
	}
	return b.String(), labels
}

// expectation is a page's entry in ddg-expectations.json: DuckDuckGo's
// detector's known misses on it. ExpectedFailures holds one entry per
// field it gets wrong: the field's label, or its type alone ("password"
// for a "password.current" field taken for no password at all).
type expectation struct {
	HTML             string   `json:"html"`
	Generated        bool     `json:"generated"`
	ExpectedFailures []string `json:"expectedFailures"`
	SubmitFalseNeg   int      `json:"expectedSubmitFalseNegatives"`
	SubmitFalsePos   int      `json:"expectedSubmitFalsePositives"`
}

// rightRoles says which of the detector's roles are right for a label. A
// bare "password" does not say which password it is, so any is right, as
// DuckDuckGo's test scores it. An "emailAddress" is not a username: in
// these labels it is an e-mail an identity form asks for (a sign-up's, a
// newsletter's, a contact form's), where a sign-in's e-mail is labelled
// "username"; typing the username there is a mistake.
func rightRoles(label string) map[string]bool {
	switch label {
	case "username", "username OR emailAddress":
		return set(RoleUsername)
	case "password":
		return set(RolePassword, RoleNewPassword, RoleConfirmPassword)
	case "password.current":
		return set(RolePassword)
	case "password.new":
		return set(RoleNewPassword, RoleConfirmPassword)
	case "totp":
		return set(RoleTOTP)
	case "submit":
		return set(RoleSubmit)
	}
	return nil
}

// category is one line of the score: which labels count as the field
// (recall), and which of the detector's roles claim it (precision).
type category struct {
	name          string
	labels, roles map[string]bool
}

func set(xs ...string) map[string]bool {
	m := map[string]bool{}
	for _, x := range xs {
		m[x] = true
	}
	return m
}

var categories = []category{
	{"username", set("username", "username OR emailAddress"), set(RoleUsername)},
	{"password (sign-in, current)", set("password", "password.current"), set(RolePassword)},
	{"new password (+ confirmation)", set("password.new"), set(RoleNewPassword, RoleConfirmPassword)},
	{"one-time code", set("totp"), set(RoleTOTP)},
	{"submit", set("submit"), set(RoleSubmit)},
}

type tally struct{ tp, fp, fn, fpUnlabelled int }

func (t *tally) add(o tally) {
	t.tp, t.fp, t.fn, t.fpUnlabelled = t.tp+o.tp, t.fp+o.fp, t.fn+o.fn, t.fpUnlabelled+o.fpUnlabelled
}

func (t tally) fields() int { return t.tp + t.fn }

func (t tally) precision() float64 {
	if t.tp+t.fp == 0 {
		return 1
	}
	return float64(t.tp) / float64(t.tp+t.fp)
}

func (t tally) recall() float64 {
	if t.tp+t.fn == 0 {
		return 1
	}
	return float64(t.tp) / float64(t.tp+t.fn)
}

// score is a set of pages' score, per category.
type score struct {
	pages int
	// ours is the detector's; ddg DuckDuckGo's, on the fields its
	// expectations tell its result for, and oursThere ours on those same
	// fields.
	ours, ddg, oursThere []tally
}

func newScore() *score {
	n := len(categories)
	return &score{ours: make([]tally, n), ddg: make([]tally, n), oursThere: make([]tally, n)}
}

func (s *score) add(o *score) {
	s.pages += o.pages
	for i := range categories {
		s.ours[i].add(o.ours[i])
		s.ddg[i].add(o.ddg[i])
		s.oursThere[i].add(o.oursThere[i])
	}
}

// ddgWrong says, per labelled field (in document order), whether
// DuckDuckGo's detector gets it wrong, and whether its expectations tell
// at all. Its test compares the label with its answer as strings, so a
// "username OR emailAddress" field is always listed as a miss whatever it
// answers: those fields have no DuckDuckGo result. Submit controls have
// none here either (see ddgSubmit).
func ddgWrong(exp expectation, labels []string) (wrong, known []bool) {
	left := append([]string(nil), exp.ExpectedFailures...)
	wrong, known = make([]bool, len(labels)), make([]bool, len(labels))
	for i, label := range labels {
		known[i] = label != "submit" && label != "username OR emailAddress"
		typ, _, _ := strings.Cut(label, ".")
		for j, f := range left {
			if f == label || f == typ {
				wrong[i] = true
				left = append(left[:j], left[j+1:]...)
				break
			}
		}
	}
	return wrong, known
}

// roleByMark is the detector's field for each labelled element (its most
// confident role), and the fields it found on elements with no label.
func roleByMark(fields []DetectedField) (map[string]DetectedField, []DetectedField) {
	got, unlabelled := map[string]DetectedField{}, []DetectedField(nil)
	for _, f := range fields {
		if f.Mark == "" {
			unlabelled = append(unlabelled, f)
			continue
		}
		if f.Score > got[f.Mark].Score {
			got[f.Mark] = f
		}
	}
	return got, unlabelled
}

// scorePage scores the detector's fields on one page against its labels,
// and DuckDuckGo's known misses beside them; misses lists what the
// detector got wrong, for a person to read.
func scorePage(exp expectation, labels []string, fields []DetectedField) (s *score, misses []string) {
	s = newScore()
	s.pages = 1
	got, unlabelled := roleByMark(fields)
	ddgMiss, ddgKnown := ddgWrong(exp, labels)
	labelsSubmit := false
	for _, label := range labels {
		labelsSubmit = labelsSubmit || label == "submit"
	}
	for ci, c := range categories {
		if c.name == "submit" && !labelsSubmit {
			// Most generated pages label no submit control: they cannot
			// score one.
			continue
		}
		for i, label := range labels {
			f := got[strconv.Itoa(i+1)]
			role := f.Role
			var t tally
			switch {
			case c.labels[label] && rightRoles(label)[role]:
				t.tp++
			case c.labels[label]:
				t.fn++
				misses = append(misses, fmt.Sprintf("%s: missed %s (%s), got %q", exp.HTML, c.name, label, role))
			case c.roles[role] && !rightRoles(label)[role]:
				t.fp++
				misses = append(misses, fmt.Sprintf("%s: %s claimed on a %q field (%s)", exp.HTML, c.name, label, f.Why))
			}
			s.ours[ci].add(t)
			if c.labels[label] && ddgKnown[i] {
				s.oursThere[ci].add(t)
				if ddgMiss[i] {
					s.ddg[ci].fn++
				} else {
					s.ddg[ci].tp++
				}
			}
		}
		for _, f := range unlabelled {
			if c.roles[f.Role] {
				s.ours[ci].add(tally{fp: 1, fpUnlabelled: 1})
				misses = append(misses, fmt.Sprintf("%s: %s claimed on an unlabelled element (%s: %s)", exp.HTML, c.name, strings.Join(f.Selectors[:min(1, len(f.Selectors))], ""), f.Why))
			}
		}
		if c.name == "submit" {
			ddgSubmit(s, ci, exp, labels)
		}
	}
	return s, misses
}

// ddgSubmit scores DuckDuckGo's submit controls on a page. Its test
// checks them on the hand-captured pages only (not on the generated
// ones), so only there is its result known; ours is scored on the same
// pages beside it.
func ddgSubmit(s *score, ci int, exp expectation, labels []string) {
	if exp.Generated {
		return
	}
	n := 0
	for _, label := range labels {
		if label == "submit" {
			n++
		}
	}
	s.ddg[ci].add(tally{tp: max(n-exp.SubmitFalseNeg, 0), fn: exp.SubmitFalseNeg, fp: exp.SubmitFalsePos})
	s.oursThere[ci].add(s.ours[ci])
}

const scoreLegend = `FP: claims on elements with another label, and on unlabelled ones (u: some are real
fields the labels leave out, like world4you's autocomplete=one-time-code digits).
DuckDuckGo: recall from its expectations, on the fields they tell: not "username OR
emailAddress" (its test always fails those), submit on hand-captured pages only, precision
for submit only. "ours there": ours on those same fields.
`

// table formats a score for people.
func (s *score) table(title string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s, %d pages:\n", title, s.pages)
	fmt.Fprintf(&b, "%-30s %6s %9s %7s %6s | %-33s %s\n", "field", "fields", "precision", "recall", "FP", "DuckDuckGo (fields it is scored on)", "ours there")
	for i, c := range categories {
		o, d, there := s.ours[i], s.ddg[i], s.oursThere[i]
		ddg := fmt.Sprintf("recall %.3f (%d)", d.recall(), d.fields())
		if c.name == "submit" {
			ddg = fmt.Sprintf("P %.3f, recall %.3f (%d)", d.precision(), d.recall(), d.fields())
		}
		mine := fmt.Sprintf("recall %.3f", there.recall())
		if c.name == "submit" {
			mine = fmt.Sprintf("P %.3f, recall %.3f", there.precision(), there.recall())
		}
		fp := strconv.Itoa(o.fp)
		if o.fpUnlabelled > 0 {
			fp = fmt.Sprintf("%d(%du)", o.fp, o.fpUnlabelled)
		}
		fmt.Fprintf(&b, "%-30s %6d %9.3f %7.3f %6s | %-33s %s\n", c.name, o.fields(), o.precision(), o.recall(), fp, ddg, mine)
	}
	return b.String()
}

// TestDetectorScore runs the detector over the 200-odd labelled real forms
// (labels stripped first) and scores it per field on the held-out sites,
// next to DuckDuckGo's autofill detector's known misses on the same pages.
func TestDetectorScore(t *testing.T) {
	t.Parallel()
	dir := loginForms(t)
	pages := readExpectations(t, dir)
	page := scoringPage(t)
	held, tuning := newScore(), newScore()
	var misses []string
	start := time.Now()
	for _, exp := range pages {
		raw, err := os.ReadFile(filepath.Join(dir, exp.HTML))
		if err != nil {
			t.Errorf("%s: %v", exp.HTML, err)
			continue
		}
		stripped, labels := stripLabels(string(raw))
		if strings.Contains(stripped, "data-manual-") {
			t.Fatalf("%s: a label survived stripping", exp.HTML)
		}
		fields, err := detectPage(page, stripped)
		if err != nil {
			t.Errorf("%s: %v", exp.HTML, err)
			continue
		}
		s, m := scorePage(exp, labels, fields)
		if heldOut(foldOf(siteOf(exp.HTML))) {
			held.add(s)
			continue
		}
		tuning.add(s)
		misses = append(misses, m...)
	}
	took := time.Since(start)
	report := fmt.Sprintf("detector over %d labelled pages in %v, sites in %d folds\n\n%s\n%s\n%s",
		held.pages+tuning.pages, took.Round(time.Millisecond), scoreFolds,
		held.table("HELD OUT (folds 2, 3: their misses are never printed, no rule is tuned on them)"), tuning.table("tuning (folds 0, 1, 4)"), scoreLegend)
	t.Log("\n" + report)
	if out := os.Getenv("ROTATOR_SCORE_OUT"); out != "" {
		sort.Strings(misses)
		if err := os.WriteFile(out, []byte(report+"\ntuning folds' misses:\n"+strings.Join(misses, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	checkFloors(t, held)
}

// checkFloors fails the test when the detector does worse on the
// held-out sites than it did when the floors were set.
func checkFloors(t *testing.T, held *score) {
	// The floors are the figures achieved when they were last set (held
	// out, precision/recall, cut to three decimals so that the fraction
	// itself passes): username 75/85, 75/79; password 81/83, 81/82; new
	// password 11/13, 11/11; one-time code 6/13, 6/6; submit 42/43,
	// 42/44. One more miss or false claim on any field fails: a change
	// that costs one must say why, and set the floor down in the open.
	floors := map[string][2]float64{ // precision, recall
		"username":                      {0.882, 0.949},
		"password (sign-in, current)":   {0.975, 0.987},
		"new password (+ confirmation)": {0.846, 1},
		"one-time code":                 {0.461, 1},
		"submit":                        {0.976, 0.954},
	}
	for i, c := range categories {
		f := floors[c.name]
		if o := held.ours[i]; o.precision() < f[0] || o.recall() < f[1] {
			t.Errorf("held out, %s: precision %.3f, recall %.3f; the floor is %.2f, %.2f", c.name, o.precision(), o.recall(), f[0], f[1])
		}
	}
}

func readExpectations(t *testing.T, dir string) []expectation {
	raw, err := os.ReadFile(filepath.Join(dir, "ddg-expectations.json"))
	if err != nil {
		t.Fatal(err)
	}
	var pages []expectation
	if err := json.Unmarshal(raw, &pages); err != nil {
		t.Fatal(err)
	}
	return pages
}

// scoringPage is a page of the shared browser in which the captured pages
// are scored: their own scripts do not run and nothing is fetched, so the
// form as captured is what is scored.
func scoringPage(t *testing.T) *rod.Page {
	incognito, err := sharedBrowser(t).Rod().Incognito()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { incognito.Close() })
	page, err := incognito.Page(proto.TargetCreateTarget{URL: "about:blank"})
	if err != nil {
		t.Fatal(err)
	}
	for _, call := range []interface{ Call(proto.Client) error }{
		proto.EmulationSetScriptExecutionDisabled{Value: true},
		proto.NetworkEnable{},
		proto.NetworkSetBlockedURLs{Urls: []string{"http://*", "https://*", "ws://*", "wss://*"}},
		proto.EmulationSetDeviceMetricsOverride{Width: 1280, Height: 900, DeviceScaleFactor: 1},
	} {
		if err := call.Call(page); err != nil {
			t.Fatal(err)
		}
	}
	return page
}

// detectPage loads html into the page and runs the detector.
func detectPage(page *rod.Page, html string) ([]DetectedField, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := page.Context(ctx)
	if err := p.SetDocumentContent(html); err != nil {
		return nil, err
	}
	return detectWith(ctx, p, "data-rt-n")
}

// TestSiteOf: pages of one site share a fold, whether named after the
// site or after a host of it.
func TestSiteOf(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ file, site string }{
		{"netflix_login.html", "netflix"},
		{"netflix_change-password.html", "netflix"},
		{"etsy_password-reset.html", "etsy"},
		{"deltamath_reset_password.html", "deltamath"},
		{"chase_2fa-verification-step.html", "chase"},
		{"paypal_otp.html", "paypal"},
		{"account_mail_ru_login.html", "mail"},
		{"www_att_com_login.html", "att"},
		{"gsigninssl_gmarket_co_kr_login.html", "gmarket"},
		{"cav_receita_fazenda_gov_br_login.html", "fazenda"},
		{"www_bass_blm_gov_login.html", "blm"},
		{"stackoverflow_talent_login.html", "stackoverflow"},
		{"accounts_oneplus_login.html", "oneplus"},
		{"identita-gov-mt_change-password.html", "identita-gov-mt"},
	} {
		if got := siteOf(tt.file); got != tt.site {
			t.Errorf("siteOf(%q) = %q, want %q", tt.file, got, tt.site)
		}
	}
	if foldOf("netflix") != foldOf(siteOf("netflix_change-password.html")) {
		t.Error("one site in two folds")
	}
}
