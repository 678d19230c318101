package ops

import (
	"context"
	"fmt"
)

// ReconcileNow queues a reconciliation of one configured shop or site (the
// console's Reconcile now), named as enroll.SameSource compares names, on
// behalf of actor. A shop that is not configured or has no API access is
// refused, and so is a process that runs no reconciliations.
func (o *Ops) ReconcileNow(ctx context.Context, actor, source string) error {
	s, ok := o.Config.FindShop("", source)
	if !ok {
		return refuse("no Shopify shop or WooCommerce site %q is configured", source)
	}
	name := s.Name
	if !s.HasAPI {
		return refuse("%s has no API access: reconciliation is off for it", name)
	}
	if o.ReconcileLater == nil {
		return refuse("reconciliation is not running in this process")
	}
	if err := o.ReconcileLater(ctx, name, actor); err != nil {
		return fmt.Errorf("queue reconciliation of %s: %w", name, err)
	}
	return nil
}
