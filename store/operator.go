package store

import (
	"context"
	"fmt"
)

// ChangeLimit sets the account's limit to max changes in any 24 hours (0:
// back to the configured cap, capMax), marked an override when above the
// cap, and forgets its next due time so a run the old limit held is looked
// at again. The audit log records who did it: account.limit, or
// account.limit.override.
func (s *Store) ChangeLimit(ctx context.Context, name string, max, capMax int, actor string) error {
	l := Limit{Max: max, Override: max > capMax}
	if err := s.SetLimit(ctx, name, l); err != nil {
		return err
	}
	if err := s.ResetSchedule(ctx, name); err != nil {
		return err
	}
	action := "account.limit"
	if l.Override {
		action = "account.limit.override"
	}
	return s.Audit(ctx, AuditEvent{Actor: actor, Account: name, Action: action, Outcome: "succeeded",
		Detail: fmt.Sprintf("max %d changes in 24 hours (configured cap %d)", max, capMax)})
}

// RemoveAccount deletes the account as DeleteAccount does, and the audit
// log records who removed it.
func (s *Store) RemoveAccount(ctx context.Context, name, actor string) error {
	if err := s.DeleteAccount(ctx, name); err != nil {
		return err
	}
	return s.Audit(ctx, AuditEvent{Actor: actor, Account: name, Action: "account.remove"})
}
