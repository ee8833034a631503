package console

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rotator-pam/rotator/rotation"
	"github.com/rotator-pam/rotator/rotator"
	"github.com/rotator-pam/rotator/store"
)

// AccountRow is one line of the accounts page.
type AccountRow struct {
	Name       string      `json:"name"`
	Template   string      `json:"template"`
	State      store.State `json:"state"`
	FlagReason string      `json:"flag_reason,omitempty"`
	// LastChange is the last password change (zero: none since added).
	LastChange time.Time `json:"last_change,omitzero"`
	// NextAllowed is when the cap and gap allow the next change (zero:
	// now); NextAllowedWhy says which limit holds it.
	NextAllowed    time.Time `json:"next_allowed,omitzero"`
	NextAllowedWhy string    `json:"next_allowed_why,omitempty"`
	LastRun        *RunInfo  `json:"last_run,omitempty"`
	// Held is "challenge" or "session" while a browser waits for an
	// operator.
	Held string `json:"held,omitempty"`
	// Lost says a page held for an operator was lost with the worker
	// that held it.
	Lost string `json:"lost,omitempty"`
}

// RunInfo is a run without its steps.
type RunInfo struct {
	ID            int64            `json:"id"`
	Account       string           `json:"account"`
	Kind          rotation.Kind    `json:"kind"`
	Outcome       rotation.Outcome `json:"outcome"`
	Reason        string           `json:"reason,omitempty"`
	StartedAt     time.Time        `json:"started_at"`
	FinishedAt    time.Time        `json:"finished_at,omitzero"`
	Flow          string           `json:"flow,omitempty"`
	Step          string           `json:"step,omitempty"`
	ChallengeKind string           `json:"challenge_kind,omitempty"`
	ChallengeURL  string           `json:"challenge_url,omitempty"`
	// Screenshot is the console path of the challenge screenshot.
	Screenshot string `json:"screenshot,omitempty"`
	Millis     int64  `json:"ms"`
}

func runInfo(r store.Run) *RunInfo {
	ri := &RunInfo{ID: r.ID, Account: r.Account, Kind: r.Kind, Outcome: r.Outcome, Reason: r.Reason, StartedAt: r.StartedAt,
		FinishedAt: r.FinishedAt, Flow: r.Flow, Step: r.Step, ChallengeKind: r.ChallengeKind, ChallengeURL: r.ChallengeURL}
	if r.Screenshot != "" {
		ri.Screenshot = fileURL(r.ID, r.Screenshot)
	}
	ri.Millis = r.Took().Milliseconds()
	return ri
}

func fileURL(run int64, path string) string {
	return fmt.Sprintf("/runs/%d/files/%s", run, filepath.Base(path))
}

func (s *Server) row(ctx context.Context, a store.Account, hv heldView) (AccountRow, error) {
	row := AccountRow{Name: a.Name, Template: a.Template, State: a.State, FlagReason: a.FlagReason, LastChange: a.LastChange}
	if s.Rotator != nil {
		next, why, err := s.Rotator.NextAllowed(ctx, a.Name)
		if err != nil {
			return row, err
		}
		row.NextAllowed, row.NextAllowedWhy = next, why
		if h := hv.pages[a.Name]; h != nil {
			row.Held = h.Kind
		}
		row.Lost = hv.lost[a.Name]
	}
	runs, err := s.Store.Runs(ctx, a.Name, 1)
	if err != nil {
		return row, err
	}
	if len(runs) > 0 {
		row.LastRun = runInfo(runs[0])
	}
	return row, nil
}

func (s *Server) accountsData(r *http.Request) (any, error) {
	accts, err := s.Store.Accounts(r.Context())
	if err != nil {
		return nil, err
	}
	rows := make([]AccountRow, 0, len(accts))
	hv := s.heldView(r.Context())
	for _, a := range accts {
		row, err := s.row(r.Context(), a, hv)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func (s *Server) apiAccounts(r *http.Request) (any, error) { return s.accountsData(r) }

// AccountDetail is the account page.
type AccountDetail struct {
	AccountRow
	Username string `json:"username"`
	HasTOTP  bool   `json:"has_totp"`
	// History holds the dates of past passwords, never the passwords.
	History []HistoryDates `json:"history"`
	Runs    []*RunInfo     `json:"runs"`
}

// HistoryDates is one past password's dates.
type HistoryDates struct {
	SetAt         time.Time `json:"set_at"`
	RetiredAt     time.Time `json:"retired_at"`
	ChangedOnSite bool      `json:"changed_on_site"`
	Reason        string    `json:"reason"`
}

func (s *Server) accountData(r *http.Request) (any, error) {
	ctx := r.Context()
	a, err := s.Store.Account(ctx, r.PathValue("name"))
	if err != nil {
		return nil, err
	}
	row, err := s.row(ctx, a, s.heldView(ctx))
	if err != nil {
		return nil, err
	}
	d := AccountDetail{AccountRow: row, Username: a.Username, HasTOTP: a.TOTP != nil}
	hist, err := s.Store.History(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	for _, h := range hist {
		d.History = append(d.History, HistoryDates{SetAt: h.SetAt, RetiredAt: h.RetiredAt, ChangedOnSite: h.ChangedOnSite, Reason: h.Reason})
	}
	runs, err := s.Store.Runs(ctx, a.Name, 50)
	if err != nil {
		return nil, err
	}
	for _, run := range runs {
		d.Runs = append(d.Runs, runInfo(run))
	}
	return d, nil
}

func (s *Server) apiAccount(r *http.Request) (any, error) { return s.accountData(r) }

// Flag is one entry of the flags queue.
type Flag struct {
	Account    string      `json:"account"`
	State      store.State `json:"state"`
	Reason     string      `json:"reason"`
	FlaggedAt  time.Time   `json:"flagged_at"`
	AgeSeconds int64       `json:"age_s"`
	// Screenshot is the console path of the last run's challenge
	// screenshot.
	Screenshot string `json:"screenshot,omitempty"`
	RunID      int64  `json:"run_id,omitempty"`
	// Held describes the browser waiting for an operator, if any.
	Held *HeldInfo `json:"held,omitempty"`
	// Lost says the page held for an operator was lost with the worker
	// that held it: "Open a session" works from any worker.
	Lost string `json:"lost,omitempty"`
}

// HeldInfo is a browser held for an operator.
type HeldInfo struct {
	Kind  string    `json:"kind"`
	RunID int64     `json:"run_id"`
	Since time.Time `json:"since"`
	Until time.Time `json:"until"`
	// Live is the console page of the live view.
	Live string `json:"live"`
	// Worker is the holder id of the worker whose browser holds the page
	// when it is another one; its live view is relayed.
	Worker string `json:"worker,omitempty"`
	// Challenge describes what the page shows (empty for a session).
	Challenge string `json:"challenge,omitempty"`
}

func heldInfo(h *rotator.Held) *HeldInfo {
	return &HeldInfo{Kind: string(h.Kind), RunID: h.RunID, Since: h.Since, Until: h.Until, Live: "/live/" + h.Account, Challenge: h.Shows()}
}

// heldView is every page held for an operator, by this worker or another,
// and the pages lost with a worker that stopped.
type heldView struct {
	pages map[string]*HeldInfo
	lost  map[string]string
	order []string // accounts of pages, oldest first
}

func (s *Server) heldView(ctx context.Context) heldView {
	hv := heldView{pages: map[string]*HeldInfo{}, lost: map[string]string{}}
	if s.Rotator == nil {
		return hv
	}
	for _, h := range s.Rotator.Holds.List() {
		hv.pages[h.Account] = heldInfo(h)
		hv.order = append(hv.order, h.Account)
	}
	ps, err := s.Store.HeldPages(ctx)
	if err != nil {
		s.log().Error("held pages", "err", err)
		return hv
	}
	self, _ := s.Store.HolderID()
	for _, p := range ps {
		if p.Holder == self || hv.pages[p.Account] != nil {
			continue // ours: in memory while it is held
		}
		if p.HolderDead {
			hv.lost[p.Account] = fmt.Sprintf("the %s page held since %s was lost: worker %s stopped", p.Kind, p.Since.UTC().Format(time.RFC3339), p.Holder)
			continue
		}
		hv.pages[p.Account] = &HeldInfo{Kind: p.Kind, RunID: p.RunID, Since: p.Since, Until: p.Until, Live: "/live/" + p.Account,
			Worker: p.Holder, Challenge: p.Challenge}
		hv.order = append(hv.order, p.Account)
	}
	return hv
}

func (s *Server) flagsData(r *http.Request) (any, error) {
	ctx := r.Context()
	flags, err := s.Store.Flags(ctx)
	if err != nil {
		return nil, err
	}
	hv := s.heldView(ctx)
	out := make([]Flag, 0, len(flags))
	seen := map[string]bool{}
	for _, f := range flags {
		fl := Flag{Account: f.Account, State: f.State, Reason: f.Reason, FlaggedAt: f.FlaggedAt,
			AgeSeconds: int64(s.now().Sub(f.FlaggedAt) / time.Second), Held: hv.pages[f.Account], Lost: hv.lost[f.Account]}
		if runs, err := s.Store.Runs(ctx, f.Account, 1); err == nil && len(runs) > 0 {
			fl.RunID = runs[0].ID
			if runs[0].Screenshot != "" {
				fl.Screenshot = fileURL(runs[0].ID, runs[0].Screenshot)
			}
		}
		seen[f.Account] = true
		out = append(out, fl)
	}
	// A session an operator opened on an account that is not flagged.
	for _, name := range hv.order {
		if h := hv.pages[name]; !seen[name] {
			out = append(out, Flag{Account: name, State: "session", Reason: "an operator's browser session", FlaggedAt: h.Since,
				AgeSeconds: int64(s.now().Sub(h.Since) / time.Second), RunID: h.RunID, Held: h})
		}
	}
	return out, nil
}

func (s *Server) apiFlags(r *http.Request) (any, error) { return s.flagsData(r) }

// RunDetail is the run page.
type RunDetail struct {
	RunInfo
	Steps []store.RunStep `json:"steps"`
	// Files are the console paths of the run's screenshots.
	Files []string `json:"files"`
}

func (s *Server) runByID(r *http.Request) (store.Run, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return store.Run{}, fmt.Errorf("%w: run id %q", errBadRequest, r.PathValue("id"))
	}
	return s.Store.Run(r.Context(), id)
}

func (s *Server) runData(r *http.Request) (any, error) {
	run, err := s.runByID(r)
	if err != nil {
		return nil, err
	}
	d := RunDetail{RunInfo: *runInfo(run), Steps: run.Steps}
	if run.Artifacts != "" {
		entries, _ := os.ReadDir(run.Artifacts)
		for _, e := range entries {
			if !e.IsDir() && strings.HasSuffix(e.Name(), ".png") {
				d.Files = append(d.Files, fileURL(run.ID, e.Name()))
			}
		}
	}
	return d, nil
}

func (s *Server) apiRun(r *http.Request) (any, error) { return s.runData(r) }

// runFile serves a screenshot of a run, only from the run's own folder.
func (s *Server) runFile(w http.ResponseWriter, r *http.Request) {
	run, err := s.runByID(r)
	if err != nil {
		writeError(w, statusOf(err), err)
		return
	}
	name := r.PathValue("file")
	if run.Artifacts == "" || !filepath.IsLocal(name) || strings.ContainsAny(name, `/\`) || !strings.HasSuffix(name, ".png") {
		writeError(w, http.StatusNotFound, errors.New("no such file"))
		return
	}
	root, err := os.OpenRoot(run.Artifacts)
	if err != nil {
		writeError(w, http.StatusNotFound, errors.New("the run's files were pruned"))
		return
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		writeError(w, http.StatusNotFound, errors.New("no such file"))
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "image/png")
	io.Copy(w, io.LimitReader(f, 32<<20))
}

// LiveData is the live view page.
type LiveData struct {
	Account string    `json:"account"`
	Held    *HeldInfo `json:"held"`
	// Challenge describes what the page shows (empty for a session).
	Challenge string `json:"challenge,omitempty"`
}

func (s *Server) liveData(r *http.Request) (any, error) {
	name := r.PathValue("name")
	if _, err := s.Store.Account(r.Context(), name); err != nil {
		return nil, err
	}
	hv := s.heldView(r.Context())
	h := hv.pages[name]
	if h == nil {
		if lost := hv.lost[name]; lost != "" {
			return nil, fmt.Errorf("%w: %s", errHolderGone, lost)
		}
		return nil, fmt.Errorf("%w: %s", rotator.ErrNotHeld, name)
	}
	return LiveData{Account: name, Held: h, Challenge: h.Challenge}, nil
}

// --- actions ---

// decide passes an operator's decision to the held page: continue (the
// rotation resumes; a session closes) or abort.
func (s *Server) decide(abort bool) func(*http.Request) (string, error) {
	return func(r *http.Request) (string, error) {
		name := r.PathValue("name")
		h, ok := s.Rotator.Holds.Get(name)
		if !ok {
			if p, ok := s.remoteHeld(r.Context(), name); ok {
				return s.decideRemote(r, p, abort)
			}
			return "", fmt.Errorf("%w: %s", rotator.ErrNotHeld, name)
		}
		return decideHeld(r, h, abort)
	}
}

// decideHeld passes the decision to h, a page this worker holds.
func decideHeld(r *http.Request, h *rotator.Held, abort bool) (string, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	send, msg := h.Continue, "resumed: the rotation goes on with the step after the challenge"
	switch {
	case abort && h.Kind == rotator.HeldSession:
		send, msg = h.Abort, "session closed"
	case abort:
		send, msg = h.Abort, "aborted: the account stays flagged until an operator clears it"
	case h.Kind == rotator.HeldSession:
		msg = "session closed; the profile keeps what you did"
	}
	if err := send(ctx, operator(r)); err != nil {
		return "", err
	}
	return msg, nil
}

func (s *Server) clear(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if h, ok := s.Rotator.Holds.Get(name); ok && h.Kind == rotator.HeldChallenge {
		return "", fmt.Errorf("%w: a paused rotation of %s waits in the console; resolve or abort it first", errConflict, name)
	}
	p, remote := s.remoteHeld(r.Context(), name)
	if remote && !p.HolderDead && p.Kind == string(rotator.HeldChallenge) {
		return "", fmt.Errorf("%w: a paused rotation of %s waits in the console of worker %s; resolve or abort it first", errConflict, name, p.Holder)
	}
	was, err := s.Store.ClearFlag(r.Context(), name, operator(r))
	if err != nil {
		return "", err
	}
	if remote && p.HolderDead {
		// The page died with its worker: the flag was what was left.
		if err := s.Store.DropHeld(r.Context(), name); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("cleared %s (was %s); it rotates again on its schedule", name, was.State), nil
}

func (s *Server) openSession(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if _, err := s.Store.Account(r.Context(), name); err != nil {
		return "", err
	}
	ctx := s.Context
	if ctx == nil {
		ctx = context.Background()
	}
	if _, err := s.Rotator.OpenSession(ctx, name, operator(r)); err != nil {
		if errors.Is(err, store.ErrLocked) {
			return "", fmt.Errorf("%w: %v", errConflict, err)
		}
		return "", err
	}
	return "a browser is open on the account's profile: /live/" + name, nil
}

// OTP is the Token OTP field: the current code, when it expires, and the
// next code.
type OTP struct {
	Code      string    `json:"code"`
	ExpiresAt time.Time `json:"expires_at"`
	// RemainingMS is how long the code stays valid, measured by the server.
	RemainingMS int64     `json:"remaining_ms"`
	PeriodS     int64     `json:"period_s"`
	Next        string    `json:"next"`
	NextFrom    time.Time `json:"next_from"`
}

// apiOTP shows the account's codes. Both steps shown are marked used, so
// the rotator's own sign-ins never submit a code a person may type too;
// every view is audited.
func (s *Server) apiOTP(r *http.Request) (any, error) {
	ctx := r.Context()
	name := r.PathValue("name")
	a, err := s.Store.Account(ctx, name)
	if err != nil {
		return nil, err
	}
	if a.TOTP == nil {
		return nil, fmt.Errorf("%w: account %s has no TOTP secret", errBadRequest, name)
	}
	now := s.now()
	cur, err := a.TOTP.Key.At(now)
	if err != nil {
		return nil, err
	}
	next, err := a.TOTP.Key.Next(now)
	if err != nil {
		return nil, err
	}
	if err := s.Store.ReserveStep(ctx, name, next.Step); err != nil {
		return nil, err
	}
	s.audit(ctx, operator(r), name, "otp.view", "succeeded", fmt.Sprintf("steps %d and %d shown and marked used", cur.Step, next.Step))
	return OTP{Code: cur.Code.Reveal(), ExpiresAt: next.Start, RemainingMS: cur.Remaining(now).Milliseconds(),
		PeriodS: int64(a.TOTP.Key.Period / time.Second), Next: next.Code.Reveal(), NextFrom: next.Start}, nil
}
