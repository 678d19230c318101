package ops

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// Privacy and retention: what an operator may do with personal data.
//
//   - Export: everything stored about an email (store.Export), to answer a
//     data request.
//   - Redact: a customer's personal data erased by hand (a WooCommerce
//     shop's GDPR request), in one shop or in all; never unenrolls anyone.
//   - AnswerDataRequest: a data request marked answered.
//   - Purge: the raw bodies of finished orders' and rejected deliveries
//     older than an age, at least config.MinRetention, and the records of
//     reconciliations (each shop's latest kept) and webhook outages as old.

// Export returns everything stored about an email, any case.
func (o *Ops) Export(ctx context.Context, email string) (store.Export, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return store.Export{}, refuse("export: an email is required")
	}
	return o.DB.Export(ctx, email)
}

// Redact erases an email's personal data by hand: every order whose buyer
// or a learner has it, in the shop named source (either platform), or in
// every shop when source is "". It is recorded as a privacy request and,
// on each order, as an action of actor.
func (o *Ops) Redact(ctx context.Context, actor, source, email string) (store.RedactCounts, error) {
	email = strings.TrimSpace(email)
	if email == "" || !strings.Contains(email, "@") {
		return store.RedactCounts{}, refuse("redact: %q is not an email address", email)
	}
	return o.DB.RedactByHand(ctx, strings.TrimSpace(actor), "", strings.TrimSpace(source), enroll.Redaction{Email: email})
}

// AnswerDataRequest marks a data request answered; the note says how.
func (o *Ops) AnswerDataRequest(ctx context.Context, actor string, id int64, note string) error {
	return o.DB.AnswerDataRequest(ctx, id, strings.TrimSpace(actor), strings.TrimSpace(note))
}

// Purge drops the raw bodies, parsed orders and headers of the deliveries
// of finished orders and of rejected deliveries received more than
// olderThan ago, and the delivery keys as old (store.Purge). A dry run
// changes nothing and says what would go. It returns the cut, the moment
// before which deliveries were taken. A purge is recorded as an action of
// actor.
func (o *Ops) Purge(ctx context.Context, actor string, olderThan time.Duration, dryRun bool) (store.PurgeResult, time.Time, error) {
	if olderThan < config.MinRetention {
		return store.PurgeResult{}, time.Time{}, refuse("purge: the age must be at least 1d (24h), got %s", olderThan)
	}
	cut := o.now().Add(-olderThan)
	res, err := o.DB.Purge(ctx, cut, dryRun)
	if err != nil || dryRun {
		return res, cut, err
	}
	err = o.DB.RecordAction(ctx, store.ActionRecord{Actor: strings.TrimSpace(actor), Action: store.ActionPurge,
		Note: fmt.Sprintf("bodies of deliveries received before %s: %d deliveries, %d bytes, %d delivery keys, "+
			"%d reconciliation runs, %d webhook outages",
			cut.UTC().Format(time.RFC3339), res.Deliveries, res.Bytes, res.Keys, res.ReconcileRuns, res.Outages)})
	if err != nil {
		return res, cut, fmt.Errorf("purge done, but: %w", err)
	}
	return res, cut, nil
}
