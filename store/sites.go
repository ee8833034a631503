package store

import (
	"context"
	"fmt"
	"time"
)

// serve.per_site bounds the rotations against one site at once, so that a
// site never sees a burst. Each worker keeps its own count, and with
// several workers that bound would be per worker; so a rotation also takes
// a slot on its site in the vault, which every worker counts. A slot of a
// dead worker does not count, and is removed when another worker next
// counts the site's.

// TakeSiteSlot takes a slot on site for the account's rotation when fewer
// than per rotations of live workers hold one, and reports whether it did.
// The count and the taking are one write transaction, so two workers
// cannot both take the last slot. A slot older than stale (the longest a
// rotation job may run) counts as left behind: a release that failed must
// not close a site for good.
func (s *Store) TakeSiteSlot(ctx context.Context, site, account string, per int, stale time.Duration) (bool, error) {
	holder, err := s.holderID()
	if err != nil {
		return false, err
	}
	taken := false
	now := time.Now()
	err = s.tx(ctx, func(tx txn) error {
		rows, err := tx.QueryContext(ctx, `SELECT account, holder, since FROM site_slots WHERE site = ?`, site)
		if err != nil {
			return err
		}
		type slot struct {
			account, holder string
			since           int64
		}
		var slots []slot
		for rows.Next() {
			var sl slot
			if err := rows.Scan(&sl.account, &sl.holder, &sl.since); err != nil {
				rows.Close()
				return err
			}
			slots = append(slots, sl)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		live := 0
		for _, sl := range slots {
			left := now.Sub(time.UnixMilli(sl.since)) > stale || (sl.holder != holder && s.holderDead(sl.holder))
			switch {
			case left:
				if _, err := tx.ExecContext(ctx, `DELETE FROM site_slots WHERE site = ? AND account = ?`, site, sl.account); err != nil {
					return err
				}
			case sl.account == account && sl.holder == holder:
				// Ours, left by a run of this process that ended
				// without giving it back: taken again below.
			case sl.account == account:
				return nil // another live worker's run of this account
			default:
				live++
			}
		}
		if live >= per {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO site_slots (site, account, holder, since) VALUES (?, ?, ?, ?)
			ON CONFLICT (site, account) DO UPDATE SET holder = excluded.holder, since = excluded.since`,
			site, account, holder, millis(now)); err != nil {
			return err
		}
		taken = true
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("take a slot on %s: %w", site, err)
	}
	return taken, nil
}

// ReleaseSiteSlot gives the account's slot on site back.
func (s *Store) ReleaseSiteSlot(ctx context.Context, site, account string) error {
	holder, err := s.holderID()
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM site_slots WHERE site = ? AND account = ? AND holder = ?`, site, account, holder); err != nil {
		return fmt.Errorf("give back the slot on %s: %w", site, err)
	}
	return nil
}
