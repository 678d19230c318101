package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
)

// recentRuns is how many reconciliations of each shop the Shops page lists.
const recentRuns = 5

// configuredName is the configured name of the shop or site source names,
// or "" when none is.
func (c *console) configuredName(source string) string {
	s, _ := c.Ops.Config.FindShop("", source)
	return s.Name
}

// checkOf finds a shop's last health check among checks.
func checkOf(checks []store.ShopCheck, s config.ShopRef) (store.ShopCheck, bool) {
	for _, c := range checks {
		if c.Platform == s.Platform && enroll.SameSource(s.Platform, c.Source, s.Name) {
			return c, true
		}
	}
	return store.ShopCheck{}, false
}

type shopView struct {
	config.ShopRef
	// Check is the last health check, when Checked.
	Check   store.ShopCheck
	Checked bool
	// Runs are the latest reconciliations, newest first.
	Runs []store.ReconcileRun
}

// Last is the latest reconciliation, or nil.
func (v shopView) Last() *store.ReconcileRun {
	if len(v.Runs) == 0 {
		return nil
	}
	return &v.Runs[0]
}

type shopsPage struct {
	Shops []shopView
}

func (c *console) handleShops() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		checks, err := c.DB.ShopChecks(ctx)
		if err != nil {
			c.fail(w, r, http.StatusInternalServerError, err)
			return
		}
		var p shopsPage
		for _, s := range c.Ops.Config.ShopRefs() {
			v := shopView{ShopRef: s}
			v.Check, v.Checked = checkOf(checks, s)
			if v.Runs, err = c.DB.ReconcileRuns(ctx, s.Platform, s.Stored, recentRuns); err != nil {
				c.fail(w, r, http.StatusInternalServerError, err)
				return
			}
			p.Shops = append(p.Shops, v)
		}
		c.render(w, r, http.StatusOK, "shops", p)
	})
}

func (c *console) handleReconcile() http.Handler {
	return c.action(func(r *http.Request) (done, error) {
		source := strings.TrimSpace(r.PostFormValue("shop"))
		if source == "" {
			return done{}, badRequest{fmt.Errorf("no shop given")}
		}
		if err := c.Ops.ReconcileNow(r.Context(), user(r), source); err != nil {
			return done{}, err
		}
		return done{kind: "reconcile-queued", n: 1, shop: c.configuredName(source)}, nil
	})
}

// startedBy says how a reconciliation started, and by whom.
func startedBy(run store.ReconcileRun) string {
	if run.Actor == "" {
		return run.StartedBy
	}
	return run.StartedBy + " (" + run.Actor + ")"
}

// shopAlarms are the dashboard's lines about the shops: subscriptions down
// and APIs that could not be read, as the last health checks saw them, and
// the orders that reached the store only through reconciliation this week,
// with the outages of their shops.
type shopAlarms struct {
	Down []string
	// Reconciled says how many orders, of which shops; Outages are those
	// shops' outages this week.
	Reconciled string
	Outages    []string
}

func (a shopAlarms) Any() bool { return len(a.Down) > 0 || a.Reconciled != "" }

func (c *console) shopAlarms(ctx context.Context, now time.Time) (shopAlarms, error) {
	var a shopAlarms
	checks, err := c.DB.ShopChecks(ctx)
	if err != nil {
		return a, err
	}
	// Only the shops checked now: a shop taken out of the configuration, or
	// that lost its API access, keeps the rows of its last check.
	for _, s := range c.Ops.Config.ShopRefs() {
		check, ok := checkOf(checks, s)
		if !ok || !s.HasAPI {
			continue
		}
		if check.Error != "" {
			a.Down = append(a.Down, fmt.Sprintf("The API of %s could not be read at %s (UTC): %s",
				s.Name, clock(now, check.CheckedAt), check.Error))
		}
		for _, h := range check.Webhooks {
			if h.Up {
				continue
			}
			line := fmt.Sprintf("%s of %s %s", h.Topic, s.Name, stateNow(h.State))
			if !h.DownSince.IsZero() {
				line += fmt.Sprintf(" since %s (UTC)", clock(now, h.DownSince))
			}
			a.Down = append(a.Down, line)
		}
	}

	week := now.Add(-7 * 24 * time.Hour)
	reconciled, err := c.DB.ReconciledSince(ctx, week)
	if err != nil || len(reconciled) == 0 {
		return a, err
	}
	outages, err := c.DB.Outages(ctx, week)
	if err != nil {
		return a, err
	}
	total := 0
	var shops []string
	for _, rc := range reconciled {
		total += rc.Missing + rc.Stale
		var parts []string
		if rc.Missing > 0 {
			parts = append(parts, fmt.Sprintf("%d missing", rc.Missing))
		}
		if rc.Stale > 0 {
			parts = append(parts, fmt.Sprintf("%d stale", rc.Stale))
		}
		shops = append(shops, rc.Source+": "+strings.Join(parts, ", "))
		for _, o := range outages {
			if o.Platform != rc.Platform || !enroll.SameSource(o.Platform, o.Source, rc.Source) {
				continue
			}
			line := fmt.Sprintf("%s: the shop's webhook %s ", rc.Source, o.Topic)
			if o.UpAt.IsZero() {
				line += fmt.Sprintf("%s since %s (UTC)", stateNow(o.State), clock(now, o.DownAt))
			} else {
				line += fmt.Sprintf("%s from %s to %s (UTC)", stateThen(o.State), clock(now, o.DownAt), clock(now, o.UpAt))
			}
			if o.Repaired {
				line += ", repaired by the receiver"
			}
			a.Outages = append(a.Outages, line)
		}
	}
	orders := "orders"
	if total == 1 {
		orders = "order"
	}
	a.Reconciled = fmt.Sprintf("%d %s this week reached us only through reconciliation (%s)", total, orders, strings.Join(shops, "; "))
	return a, nil
}

// stateNow says a subscription's state: "is disabled", "points elsewhere".
func stateNow(state string) string {
	if state == "points elsewhere" {
		return state
	}
	return "is " + state
}

// stateThen says a state that is over: "was disabled", "pointed elsewhere".
func stateThen(state string) string {
	if state == "points elsewhere" {
		return "pointed elsewhere"
	}
	return "was " + state
}

// clock is a time of day in UTC, with its day unless that is today's.
func clock(now, t time.Time) string {
	now, t = now.UTC(), t.UTC()
	if y, m, d := t.Date(); y == now.Year() && m == now.Month() && d == now.Day() {
		return t.Format("15:04")
	}
	if t.Year() == now.Year() {
		return t.Format("Jan 2 15:04")
	}
	return t.Format("2006-01-02 15:04")
}
