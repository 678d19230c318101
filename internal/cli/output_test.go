package cli_test

import (
	"context"
	"encoding/json"
	"os/user"
	"strconv"
	"strings"
	"testing"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// bigID is a real Shopify order id: above 2^53, a JSON number jq or
// JavaScript would read as 820982911946154500.
const bigID = 820982911946154508

// TestJSONIdsAreStrings: every id in --json output is a string, exact.
func TestJSONIdsAreStrings(t *testing.T) {
	e, db := seeded(t)
	res := save(t, db, enroll.Order{Platform: enroll.Shopify, Source: "first.myshopify.com", ID: bigID,
		Items: []enroll.Item{{LineItemID: bigID + 1, SKU: "S", Email: "a@example.com"}}}, `{"id": 820982911946154508}`)
	if err := db.ResolveItem(context.Background(), res.Enqueued[0], "admin", "by hand"); err != nil {
		t.Fatal(err)
	}
	want := strconv.FormatInt(bigID, 10)
	for _, out := range []string{
		mustRun(t, e, "orders", "list", "--json"),
		mustRun(t, e, "orders", "show", want, "--json"),
	} {
		var o struct {
			ID      any `json:"id"`
			OrderID any `json:"order_id"`
			Items   []struct {
				ID         any `json:"id"`
				LineItemID any `json:"line_item_id"`
			} `json:"items"`
			Deliveries []struct {
				ID any `json:"id"`
			} `json:"deliveries"`
			Actions []struct {
				ItemID any `json:"item_id"`
			} `json:"actions"`
		}
		if err := json.Unmarshal([]byte(out), &o); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if o.OrderID != want || o.ID != strconv.FormatInt(res.OrderID, 10) {
			t.Errorf("order ids: order_id %#v, id %#v; want %q and %q", o.OrderID, o.ID, want, strconv.FormatInt(res.OrderID, 10))
		}
		if len(o.Items) != 1 || o.Items[0].LineItemID != strconv.FormatInt(bigID+1, 10) || o.Items[0].ID != strconv.FormatInt(res.Enqueued[0], 10) {
			t.Errorf("item ids: %+v", o.Items)
		}
		for _, d := range o.Deliveries {
			if d.ID != strconv.FormatInt(res.DeliveryID, 10) {
				t.Errorf("delivery id %#v; want %q", d.ID, strconv.FormatInt(res.DeliveryID, 10))
			}
		}
		for _, a := range o.Actions {
			if a.ItemID != strconv.FormatInt(res.Enqueued[0], 10) {
				t.Errorf("action item id %#v", a.ItemID)
			}
		}
	}
	var d struct {
		ID any `json:"id"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, e, "deliveries", "list", "--json")), &d); err != nil || d.ID != strconv.FormatInt(res.DeliveryID, 10) {
		t.Errorf("deliveries list --json: id %#v, %v", d.ID, err)
	}
}

// hostile holds terminal escape sequences: set the window title, ring the
// bell, turn the text red.
const hostile = "\x1b]0;pwned\x07\x1b[31m"

// TestTextOutputEscapesControlCharacters: what learners and shops supply
// reaches the operator's terminal as visible escapes, never as control
// characters.
func TestTextOutputEscapesControlCharacters(t *testing.T) {
	e, db := seeded(t)
	email := "x" + hostile + "@example.com"
	res := save(t, db, enroll.Order{Platform: enroll.Shopify, Source: "first.myshopify.com", ID: 31,
		Email: email, Items: []enroll.Item{{LineItemID: 1, SKU: "S\r\x9b2J\u202e", Email: email}}},
		`{"id": 31, "email": "`+"x\u001b]0;pwned\u0007\u009b@example.com"+`"}`+"\x1b[2J")
	failItems(t, db, res.Enqueued...)
	if err := db.ResolveItem(context.Background(), res.Enqueued[0], "admin", "done\x1b[8m by hand\rfake line"); err != nil {
		t.Fatal(err)
	}
	// The shop's own status comes from its payload; a mode from the settings.
	storetest.Exec(t, db, `UPDATE orders SET shop_status = $1`, "paid"+hostile)
	storetest.Exec(t, db, `UPDATE items SET mode = $1`, "verified\x1b[2J")
	for _, args := range [][]string{
		{"orders", "list"},
		{"orders", "show", "31"},
		{"deliveries", "list"},
		{"orders", "retry", "31"},
	} {
		out := mustRun(t, e, args...)
		for i := 0; i < len(out); i++ {
			if c := out[i]; c < 0x20 && c != '\n' || c == 0x7f {
				t.Errorf("%v prints control character %#x at %d:\n%q", args, c, i, out)
				break
			}
		}
		for _, bad := range []string{"\u009b", "\u202e", "\x9b"} {
			if strings.Contains(out, bad) {
				t.Errorf("%v prints %q raw:\n%q", args, bad, out)
			}
		}
	}
	out := mustRun(t, e, "orders", "show", "31")
	for _, want := range []string{`x\x1b]0;pwned\x07\x1b[31m@example.com`, `S\r\x9b2J\u202e`, `done\x1b[8m by hand\rfake line`,
		`paid\x1b]0;pwned\x07\x1b[31m`, `verified\x1b[2J`} {
		if !strings.Contains(out, want) {
			t.Errorf("orders show lacks %q:\n%s", want, out)
		}
	}
	// --json stays exact: encoding/json escapes what needs it.
	var o struct {
		BuyerEmail string `json:"buyer_email"`
	}
	if err := json.Unmarshal([]byte(mustRun(t, e, "orders", "show", "31", "--json")), &o); err != nil || o.BuyerEmail != email {
		t.Errorf("orders show --json: buyer %q, %v; want %q", o.BuyerEmail, err, email)
	}
}

// TestActorWithoutUSER: with USER unset (cron, containers), actions are
// recorded under the login name the OS gives.
func TestActorWithoutUSER(t *testing.T) {
	u, err := user.Current()
	if err != nil || u.Username == "" {
		t.Skipf("no OS user name here: %v", err)
	}
	e, db := seeded(t)
	delete(e, "USER")
	res := save(t, db, enroll.Order{Platform: enroll.Shopify, Source: "first.myshopify.com", ID: 41,
		Items: []enroll.Item{{LineItemID: 1, SKU: "S", Email: "a@example.com"}}}, "{}")
	mustRun(t, e, "orders", "resolve", strconv.FormatInt(res.Enqueued[0], 10), "--note", "by hand")
	d, err := db.OrderDetail(context.Background(), res.OrderID)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Actions) != 1 || d.Actions[0].Actor != "cli:"+u.Username {
		t.Errorf("actions %+v; want one by %q", d.Actions, "cli:"+u.Username)
	}
}
