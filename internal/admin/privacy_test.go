package admin_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// A data request is listed, its page shows the export of its email, the
// export downloads as JSON, and it can be marked answered; a redaction is
// listed too.
func TestPrivacyPages(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d)
		f.order(t, 6001, "Asker@example.com")
		delivery := store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: shop, Path: "/webhooks/shopify",
			Body: []byte(`{}`), Status: 200}
		req, err := f.db.SavePrivacy(ctx, store.PrivacyDelivery{Delivery: delivery, Topic: store.TopicDataRequest,
			DataRequest: &enroll.DataRequest{Email: "asker@example.com", CustomerID: 41, OrderIDs: []int64{6001}, RequestID: 5}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.db.SavePrivacy(ctx, store.PrivacyDelivery{Delivery: delivery, Topic: store.TopicCustomersRedact,
			Redaction: &enroll.Redaction{Email: "gone@example.com", CustomerID: 42}}); err != nil {
			t.Fatal(err)
		}
		f.login(t)

		_, _, dash := f.get(t, "/admin/")
		mustContain(t, dash, "1 data request waiting for an answer", `href="/admin/privacy?pending=1"`)
		_, _, list := f.get(t, "/admin/privacy")
		mustContain(t, list, "customers/data_request", "asker@example.com", "waiting", "customers/redact", "42")
		_, _, pending := f.get(t, "/admin/privacy?pending=1")
		mustNotContain(t, pending, "customers/redact")

		id := strconv.FormatInt(req.RequestID, 10)
		status, _, page := f.get(t, "/admin/privacy/"+id)
		if status != http.StatusOK {
			t.Fatalf("request page: %d\n%s", status, page)
		}
		mustContain(t, page, "What is stored about asker@example.com", "&#34;order_id&#34;: &#34;6001&#34;", "Asker@example.com",
			"Mark answered", `href="/admin/privacy/`+id+`/export"`)

		resp, err := f.client.Get(f.srv.URL + "/admin/privacy/" + id + "/export")
		if err != nil {
			t.Fatal(err)
		}
		var x store.Export
		if err := json.NewDecoder(resp.Body).Decode(&x); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Content-Disposition") == "" || len(x.Orders) != 1 || x.Orders[0].Items[0].Email != "Asker@example.com" {
			t.Errorf("export: %v %+v", resp.Header, x)
		}

		page = f.act(t, "/admin/actions/answer", url.Values{"request_id": {id}, "note": {"mailed"}, "back": {"/admin/privacy/" + id}})
		mustContain(t, page, "Data request marked answered.", "answered by admin")
		mustNotContain(t, page, "Mark answered")
		if status, _, _ := f.post(t, "/admin/actions/answer", url.Values{"request_id": {id}}); status != http.StatusConflict {
			t.Errorf("a second answer: %d", status)
		}
		if status, _, _ := f.get(t, "/admin/privacy/999"); status != http.StatusNotFound {
			t.Errorf("no such request: %d", status)
		}
	})
}

func mustNotContain(t *testing.T, page string, unwanted ...string) {
	t.Helper()
	for _, u := range unwanted {
		if strings.Contains(page, u) {
			t.Errorf("page holds %q", u)
		}
	}
}
