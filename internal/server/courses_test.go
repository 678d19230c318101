package server_test

import (
	"context"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// The items of a course the settings sell in a mode are stored with that
// mode (and its configured course id); the others with none.
func TestCourseSettingsGiveItemsTheirMode(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, func(c *config.Config) {
			c.Courses = []config.Course{{CourseID: "course-v1:Org+A+1", Mode: "verified"}}
		})
		h := shopifyHeaders(shopDomain, shopSecret, shopifyOrder)
		if got := f.post(t, "/webhooks/shopify/order/create", "application/json", h, shopifyOrder); got != 200 {
			t.Fatalf("status %d", got)
		}
		o, err := f.db.FindOrder(context.Background(), enroll.Shopify, shopDomain, 5834765623456)
		if err != nil {
			t.Fatal(err)
		}
		modes := map[string][2]string{}
		for _, it := range o.Items {
			modes[it.SKU] = [2]string{it.Mode, it.CourseID}
		}
		want := map[string][2]string{"course-v1:Org+A+1": {"verified", "course-v1:Org+A+1"}, "course-v1:Org+B+1": {"", ""}}
		if len(modes) != 2 || modes["course-v1:Org+A+1"] != want["course-v1:Org+A+1"] || modes["course-v1:Org+B+1"] != want["course-v1:Org+B+1"] {
			t.Errorf("items' mode and course: %v; want %v", modes, want)
		}
	})
}
