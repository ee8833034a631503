package browser

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/go-rod/rod"
	"github.com/go-rod/rod/lib/proto"
)

// State is an account's browser state between runs: the cookies of the
// session's browser context and the local storage of the site's origins.
// It holds live session cookies: keep it encrypted (the vault does).
type State struct {
	Cookies []*proto.NetworkCookie `json:"cookies,omitempty"`
	// Storage is local storage by origin ("https://example.com").
	Storage map[string]map[string]string `json:"storage,omitempty"`
}

// LoadState puts a saved state into the session's browser context: its
// cookies at once, and each origin's local storage before the first script
// of any page of that origin runs. Call it before the first navigation.
func (b *Browser) LoadState(ctx context.Context, page *rod.Page, data []byte) error {
	if len(data) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	var st State
	if err := json.Unmarshal(data, &st); err != nil {
		return fmt.Errorf("read the saved browser state: %w", err)
	}
	if len(st.Cookies) > 0 {
		params := make([]*proto.NetworkCookieParam, 0, len(st.Cookies))
		for _, c := range st.Cookies {
			p := &proto.NetworkCookieParam{Name: c.Name, Value: c.Value, Domain: c.Domain, Path: c.Path,
				Secure: c.Secure, HTTPOnly: c.HTTPOnly, SameSite: c.SameSite, Priority: c.Priority,
				SourceScheme: c.SourceScheme, PartitionKey: c.PartitionKey}
			if !c.Session {
				p.Expires = c.Expires
			}
			if c.SourcePort > 0 {
				port := c.SourcePort
				p.SourcePort = &port
			}
			params = append(params, p)
		}
		// Through the session's own rod client: rod keeps each call's
		// parameters (the cookies) in the client's cache (ownStates).
		if err := (proto.StorageSetCookies{Cookies: params, BrowserContextID: b.rod.BrowserContextID}).Call(b.rod.Context(ctx)); err != nil {
			return fmt.Errorf("load the saved cookies: %w", err)
		}
	}
	if len(st.Storage) > 0 && page != nil {
		js, err := json.Marshal(st.Storage)
		if err != nil {
			return fmt.Errorf("load the saved site storage: %w", err)
		}
		// Each origin's items are put back once per session, by the first
		// document of that origin, before the page's own scripts.
		script := `(() => { try {
	const all = ` + string(js) + `;
	const items = all[location.origin];
	if (!items || localStorage.getItem("\u0000rotator-restored") !== null) return;
	for (const [k, v] of Object.entries(items)) localStorage.setItem(k, v);
	localStorage.setItem("\u0000rotator-restored", "1");
	} catch (e) {} })();`
		if _, err := (proto.PageAddScriptToEvaluateOnNewDocument{Source: script}).Call(page.Context(ctx)); err != nil {
			return fmt.Errorf("load the saved site storage: %w", err)
		}
	}
	return nil
}

// restoredMark is the local-storage key LoadState uses to restore an
// origin's items only once; SaveState leaves it out.
const restoredMark = "\u0000rotator-restored"

// SaveState returns the session's browser state: every cookie of its
// browser context, and the local storage of the origins among origins that
// the page's frames show now.
func (b *Browser) SaveState(ctx context.Context, page *rod.Page, origins []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	res, err := proto.StorageGetCookies{BrowserContextID: b.rod.BrowserContextID}.Call(b.rod.Context(ctx))
	if err != nil {
		return nil, fmt.Errorf("read the browser's cookies: %w", err)
	}
	st := State{Cookies: res.Cookies}
	if page != nil {
		allowed := map[string]bool{}
		for _, o := range origins {
			if u, err := url.Parse(o); err == nil && u.Scheme != "" && u.Host != "" {
				allowed[u.Scheme+"://"+u.Host] = true
			}
		}
		st.Storage = map[string]map[string]string{}
		b.collectStorage(ctx, page, allowed, st.Storage)
		if len(st.Storage) == 0 {
			st.Storage = nil
		}
	}
	return json.Marshal(st)
}

func (b *Browser) collectStorage(ctx context.Context, page *rod.Page, allowed map[string]bool, into map[string]map[string]string) {
	type dump struct {
		Origin string            `json:"origin"`
		Items  map[string]string `json:"items"`
	}
	r, err := page.Context(ctx).Eval(`() => { try {
	const items = {};
	for (let i = 0; i < localStorage.length; i++) { const k = localStorage.key(i); items[k] = localStorage.getItem(k); }
	return {origin: location.origin, items};
	} catch (e) { return {origin: "", items: {}}; } }`)
	if err != nil || r == nil {
		return
	}
	var d dump
	if json.Unmarshal([]byte(r.Value.JSON("", "")), &d) != nil || !allowed[d.Origin] {
		return
	}
	delete(d.Items, restoredMark)
	into[d.Origin] = d.Items
}
