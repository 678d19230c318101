package admin_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/bcrypt"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/admin"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/config"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/jobs"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/ops"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

const (
	password = "correct horse battery staple"
	shop     = "console.myshopify.com"
	course   = "course-v1:Org+Console+1"
)

type fixture struct {
	db  *store.DB
	lms *edxtest.LMS
	q   *jobs.Queue
	srv *httptest.Server
	// client has a cookie jar and does not follow redirects.
	client *http.Client
}

// fixtureOptions change what newFixture builds.
type fixtureOptions struct {
	// now, when set, is the time of the console and of the database.
	now    time.Time
	config func(*config.Config)
	// reconcileLater is the console's Ops.ReconcileLater.
	reconcileLater func(ctx context.Context, source, actor string) error
}

func newFixture(t *testing.T, d store.Dialect, options ...func(*fixtureOptions)) *fixture {
	t.Helper()
	var o fixtureOptions
	for _, set := range options {
		set(&o)
	}
	ctx := context.Background()
	db := storetest.Open(t, d)
	var now func() time.Time
	if !o.now.IsZero() {
		now = func() time.Time { return o.now }
		db.Now = now
	}
	if err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	lms := edxtest.New(t)
	lms.AddSKU("sku/CONSOLE", course)
	logger := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	client := edx.New(edx.Options{BaseURL: lms.URL, ClientID: lms.ClientID, ClientSecret: lms.ClientSecret,
		SKUPrefix: "sku/", Timeout: 10 * time.Second})
	q, err := jobs.New(db, client, jobs.Options{Workers: 2, MaxAttempts: 1, RetryDelay: 10 * time.Millisecond,
		MaxRetryDelay: 50 * time.Millisecond, PollInterval: 20 * time.Millisecond, JobTimeout: 30 * time.Second,
		AutoEnroll: true, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	if err := q.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		q.Stop(ctx)
	})
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Shopify = []config.Shop{{Domain: shop, Secrets: []config.Secret{"secret"}}}
	if o.config != nil {
		o.config(&cfg)
	}
	srv := httptest.NewServer(admin.New(admin.Deps{
		Logger: logger, DB: db, Admin: config.Admin{User: "admin", PasswordHash: config.Secret(hash)},
		Ops: &ops.Ops{DB: db, Enqueue: q.Enqueue, Config: cfg, ReconcileLater: o.reconcileLater},
		Now: now,
	}))
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	return &fixture{db: db, lms: lms, q: q, srv: srv, client: &http.Client{
		Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// order stores an order as an accepted delivery would, and waits until its
// items are settled.
func (f *fixture) order(t *testing.T, id int64, emails ...string) {
	t.Helper()
	o := enroll.Order{Platform: enroll.Shopify, Source: shop, ID: id, Email: "buyer@example.com", Paid: true}
	for i, e := range emails {
		sku := "CONSOLE"
		if strings.HasPrefix(strings.ToLower(e), "broken") {
			sku = "NO-SUCH-SKU" // the LMS has no course for it: the item fails
		}
		o.Items = append(o.Items, enroll.Item{LineItemID: int64(i + 1), SKU: sku, Email: e})
	}
	// The body a shop would have sent, for replays.
	var lines []string
	for _, it := range o.Items {
		lines = append(lines, fmt.Sprintf(`{"id": %d, "sku": %q, "properties": [{"name": "email", "value": %q}]}`,
			it.LineItemID, it.SKU, it.Email))
	}
	body := fmt.Sprintf(`{"id": %d, "email": "buyer@example.com", "line_items": [%s]}`, id, strings.Join(lines, ", "))
	_, err := f.db.SaveAccepted(context.Background(), store.Accepted{
		Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: shop,
			Path: "/webhooks/shopify/order/create", SourceIP: "203.0.113.9", Status: 200, Body: []byte(body),
			Headers: http.Header{"X-Shopify-Hmac-Sha256": {"[masked]"}}},
		Order: o,
	}, f.q.Enqueue)
	if err != nil {
		t.Fatal(err)
	}
	f.waitItems(t, id, func(s enroll.ItemStatus) bool { return s.Done() })
}

// waitItems waits until every item of the order satisfies ok.
func (f *fixture) waitItems(t *testing.T, id int64, ok func(enroll.ItemStatus) bool) store.OrderRecord {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		o, err := f.db.FindOrder(context.Background(), enroll.Shopify, shop, id)
		done := err == nil
		for _, it := range o.Items {
			done = done && ok(it.Status)
		}
		if done {
			return o
		}
		if time.Now().After(deadline) {
			t.Fatalf("order %d: items not settled: %+v, %v", id, o, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// get fetches a console page and returns its status, Location and body.
func (f *fixture) get(t *testing.T, path string) (int, string, string) {
	t.Helper()
	resp, err := f.client.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

// post submits a form as the console's own pages do (same origin).
func (f *fixture) post(t *testing.T, path string, form url.Values, headers ...string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", f.srv.URL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

func read(t *testing.T, resp *http.Response) (int, string, string) {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

func (f *fixture) login(t *testing.T) {
	t.Helper()
	status, loc, body := f.post(t, "/admin/login", url.Values{"username": {"admin"}, "password": {password}, "next": {"/admin/"}})
	if status != http.StatusSeeOther || loc != "/admin/" {
		t.Fatalf("login: %d %q\n%s", status, loc, body)
	}
}

// act posts an action's form and returns the page it sends the operator back to.
func (f *fixture) act(t *testing.T, path string, form url.Values) string {
	t.Helper()
	status, loc, body := f.post(t, path, form)
	if status != http.StatusSeeOther {
		t.Fatalf("action answered %d, want 303:\n%s", status, body)
	}
	_, _, page := f.get(t, loc)
	return page
}

func mustContain(t *testing.T, page string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(page, w) {
			t.Errorf("page lacks %q", w)
		}
	}
	if t.Failed() {
		t.Logf("page:\n%s", page)
	}
}

func TestEveryPageNeedsASession(t *testing.T) {
	f := newFixture(t, store.SQLite)
	for _, path := range []string{"/admin/", "/admin/orders?q=x", "/admin/orders/1", "/admin/deliveries?rejected=1", "/admin/shops", "/admin/nothing"} {
		status, loc, _ := f.get(t, path)
		if status != http.StatusSeeOther || loc != "/admin/login?next="+url.QueryEscape(path) {
			t.Errorf("GET %s: %d %q; want 303 to the login page", path, status, loc)
		}
	}
	for _, path := range []string{"/admin/actions/retry", "/admin/actions/resolve", "/admin/actions/replay", "/admin/actions/retry-failed", "/admin/actions/reconcile"} {
		status, loc, _ := f.post(t, path, url.Values{"item_id": {"1"}, "delivery_id": {"1"}, "note": {"x"}, "shop": {shop}})
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/login") {
			t.Errorf("POST %s: %d %q; want 303 to the login page", path, status, loc)
		}
	}
	status, _, body := f.get(t, "/admin/login")
	if status != http.StatusOK {
		t.Fatalf("login page: %d", status)
	}
	mustContain(t, body, `<label for="username">`, `<label for="password">`, `autocomplete="current-password"`)
	if status, _, _ := f.get(t, "/admin/static/style.css"); status != http.StatusOK {
		t.Errorf("stylesheet: %d", status)
	}
}

func TestLogin(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		tests := []struct {
			name, user, pass string
			status           int
		}{
			{"wrong password", "admin", "nope", http.StatusUnauthorized},
			{"wrong user", "root", password, http.StatusUnauthorized},
			{"empty", "", "", http.StatusUnauthorized},
		}
		for _, tt := range tests {
			status, _, body := f.post(t, "/admin/login", url.Values{"username": {tt.user}, "password": {tt.pass}})
			if status != tt.status || !strings.Contains(body, "Wrong username or password") {
				t.Errorf("%s: %d; want %d and a message", tt.name, status, tt.status)
			}
		}
		if status, _, _ := f.get(t, "/admin/"); status != http.StatusSeeOther {
			t.Fatalf("dashboard before login: %d", status)
		}

		// A good login sets a strict, HttpOnly cookie and goes where it was asked.
		status, loc, _ := f.post(t, "/admin/login", url.Values{"username": {"admin"}, "password": {password},
			"next": {"/admin/orders?q=1"}}, "X-Forwarded-Proto", "https")
		if status != http.StatusSeeOther || loc != "/admin/orders?q=1" {
			t.Fatalf("login: %d %q", status, loc)
		}
		// The jar keeps no Secure cookie over http; read it from a raw request.
		req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/admin/login", strings.NewReader(url.Values{
			"username": {"admin"}, "password": {password}, "next": {"https://evil.example/"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := f.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if loc := resp.Header.Get("Location"); loc != "/admin/" {
			t.Errorf("next outside the console: redirected to %q; want /admin/", loc)
		}
		cookie := resp.Header.Get("Set-Cookie")
		for _, want := range []string{"HttpOnly", "SameSite=Strict", "Path=/admin/"} {
			if !strings.Contains(cookie, want) {
				t.Errorf("cookie %q lacks %s", cookie, want)
			}
		}
		if strings.Contains(cookie, "Secure") {
			t.Errorf("cookie over plain http is Secure: %q", cookie)
		}
		status, _, body := f.get(t, "/admin/")
		if status != http.StatusOK {
			t.Fatalf("dashboard after login: %d", status)
		}
		mustContain(t, body, "Dashboard", "Sign out admin")

		// Logging out ends the session on the server too.
		token := ""
		for _, c := range f.client.Jar.Cookies(mustURL(t, f.srv.URL+"/admin/")) {
			token = c.Value
		}
		if status, loc, _ := f.post(t, "/admin/logout", nil); status != http.StatusSeeOther || loc != "/admin/login" {
			t.Fatalf("logout: %d %q", status, loc)
		}
		req, _ = http.NewRequest(http.MethodGet, f.srv.URL+"/admin/", nil)
		req.AddCookie(&http.Cookie{Name: "webhook_receiver_session", Value: token})
		resp, err = (&http.Client{CheckRedirect: f.client.CheckRedirect}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Errorf("old session cookie after logout: %d; want 303", resp.StatusCode)
		}
	})
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func TestLoginIsRateLimited(t *testing.T) {
	f := newFixture(t, store.SQLite)
	limited := false
	for range 10 {
		status, _, _ := f.post(t, "/admin/login", url.Values{"username": {"admin"}, "password": {"guess"}})
		if status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("10 wrong passwords in a row were all checked; want 429")
	}
	// Even the right password waits now.
	if status, _, _ := f.post(t, "/admin/login", url.Values{"username": {"admin"}, "password": {password}}); status != http.StatusTooManyRequests {
		t.Errorf("right password while limited: %d; want 429", status)
	}
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		f.order(t, 501, "broken@example.com")
		f.login(t)
		o, _ := f.db.FindOrder(context.Background(), enroll.Shopify, shop, 501)
		form := url.Values{"item_id": {strconv.FormatInt(o.Items[0].ID, 10)}}
		for _, h := range [][]string{
			{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
			{"Sec-Fetch-Site", "same-site", "Origin", "https://evil.example"},
		} {
			req, _ := http.NewRequest(http.MethodPost, f.srv.URL+"/admin/actions/retry", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for i := 0; i < len(h); i += 2 {
				req.Header.Set(h[i], h[i+1])
			}
			resp, err := f.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusForbidden {
				t.Errorf("POST with %v: %d; want 403", h, resp.StatusCode)
			}
		}
		if got := f.waitItems(t, 501, func(enroll.ItemStatus) bool { return true }); got.Items[0].Status != enroll.ItemFailed {
			t.Errorf("item after refused posts: %s; want failed, untouched", got.Items[0].Status)
		}
	})
}

func TestFindFixAndRetryAFailedOrder(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		f.order(t, 7001, "ok@example.com", "Broken.Learner@Example.com")
		f.order(t, 7002, "other@example.com")
		f.login(t)

		// Search by learner email, in another case.
		_, _, page := f.get(t, "/admin/orders?q=broken.learner@example.COM")
		mustContain(t, page, ">7001</a>", "failed")
		if strings.Contains(page, ">7002</a>") {
			t.Errorf("search by email lists another order")
		}
		_, _, page = f.get(t, "/admin/orders?q=7002")
		mustContain(t, page, ">7002</a>")
		_, _, page = f.get(t, "/admin/orders?status=failed")
		mustContain(t, page, ">7001</a>")
		if strings.Contains(page, ">7002</a>") {
			t.Errorf("failed filter lists an enrolled order")
		}

		// The order page tells what happened, and shows the delivery.
		status, _, page := f.get(t, "/admin/orders/7001")
		if status != http.StatusOK {
			t.Fatalf("order page: %d", status)
		}
		mustContain(t, page, "Broken.Learner@Example.com", "NO-SUCH-SKU", "Attempts", "Retry", "Replay",
			"/webhooks/shopify/order/create", "[masked]", "203.0.113.9")

		// The operator adds the SKU's course in the LMS, then retries.
		f.lms.AddSKU("sku/NO-SUCH-SKU", course)
		retry := regexp.MustCompile(`name="item_id" value="(\d+)">\s*<input type="hidden" name="back" value="([^"]+)">\s*<button type="submit">Retry</button>`).FindStringSubmatch(page)
		if retry == nil {
			t.Fatalf("no Retry button on the order page")
		}
		page = f.act(t, "/admin/actions/retry", url.Values{"item_id": {retry[1]}, "back": {retry[2]}})
		mustContain(t, page, "1 item queued for enrollment now.")
		f.waitItems(t, 7001, func(s enroll.ItemStatus) bool { return s == enroll.ItemEnrolled })
		if n := f.lms.EnrollCount(course, "broken.learner@example.com"); n != 1 {
			t.Errorf("learner enrolled %d times; want 1", n)
		}
		_, _, page = f.get(t, "/admin/orders/7001")
		mustContain(t, page, "PROCESSED", "admin · retry")
	})
}

func TestResolveReplayAndRetryAllFailed(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		f.order(t, 8001, "broken-a@example.com")
		f.order(t, 8002, "broken-b@example.com")
		f.order(t, 8003, "broken-c@example.com")
		f.order(t, 8004, "broken-d@example.com")
		f.login(t)
		find := func(id int64) store.OrderRecord {
			o, err := f.db.FindOrder(context.Background(), enroll.Shopify, shop, id)
			if err != nil {
				t.Fatal(err)
			}
			return o
		}

		// Resolve needs a note, then records who and why.
		item := strconv.FormatInt(find(8001).Items[0].ID, 10)
		if status, _, body := f.post(t, "/admin/actions/resolve", url.Values{"item_id": {item}, "note": {" "}}); status != http.StatusBadRequest {
			t.Errorf("resolve without a note: %d; want 400\n%s", status, body)
		}
		page := f.act(t, "/admin/actions/resolve", url.Values{"item_id": {item},
			"note": {"enrolled by hand in Studio"}, "back": {"/admin/orders/8001"}})
		mustContain(t, page, "1 item marked resolved.", "resolved", "admin · resolve", "enrolled by hand in Studio")
		if s := find(8001).Status; s != enroll.OrderProcessed {
			t.Errorf("order status after resolve: %s; want PROCESSED", s)
		}

		// Replay re-runs the stored delivery: a failed item gets another chance.
		detail, err := f.db.OrderDetail(context.Background(), find(8002).ID)
		if err != nil || len(detail.Deliveries) != 1 {
			t.Fatalf("deliveries of 8002: %+v, %v", detail.Deliveries, err)
		}
		f.lms.AddSKU("sku/NO-SUCH-SKU", course)
		if status, _, _ := f.post(t, "/admin/actions/replay", url.Values{"delivery_id": {"999999"}}); status != http.StatusNotFound {
			t.Errorf("replay of a missing delivery: %d; want 404", status)
		}
		page = f.act(t, "/admin/actions/replay", url.Values{"delivery_id": {strconv.FormatInt(detail.Deliveries[0].ID, 10)},
			"back": {"/admin/orders/8002"}})
		mustContain(t, page, "replayed: 1 item queued.", "admin · replay")
		f.waitItems(t, 8002, func(s enroll.ItemStatus) bool { return s == enroll.ItemEnrolled })

		// Retry all failed of a search: only the orders it finds.
		page = f.act(t, "/admin/actions/retry-failed", url.Values{"q": {"broken-c@example.com"},
			"back": {"/admin/orders?q=broken-c%40example.com"}})
		mustContain(t, page, "1 failed item queued for enrollment now.")
		f.waitItems(t, 8003, func(s enroll.ItemStatus) bool { return s == enroll.ItemEnrolled })
		if s := find(8004).Items[0].Status; s != enroll.ItemFailed {
			t.Errorf("item of an order the search did not find: %s; want failed", s)
		}
	})
}

func TestDashboardAndRejectedDeliveries(t *testing.T) {
	storetest.ForEachBackend(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d)
		f.order(t, 9001, "broken@example.com")
		f.order(t, 9002, "a@example.com") // the last call: enrolled
		rejected, err := f.db.SaveDelivery(context.Background(), store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify,
			Source: "wrong.myshopify.com", Path: "/webhooks/shopify/order/create", SourceIP: "198.51.100.7",
			Status: 403, Reason: "unknown shop domain"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.db.SaveDelivery(context.Background(), store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify,
			Source: "wrong.myshopify.com", Path: "/webhooks/shopify/order/create", SourceIP: "198.51.100.7",
			Status: 403, Reason: "unknown shop domain", Unread: true, Folded: 19950})
		if err != nil {
			t.Fatal(err)
		}
		f.login(t)
		status, _, body := f.post(t, "/admin/actions/replay", url.Values{"delivery_id": {strconv.FormatInt(rejected, 10)}})
		if status != http.StatusUnprocessableEntity || !strings.Contains(body, "only authenticated deliveries can be replayed") {
			t.Errorf("replay of a rejected delivery: %d; want 422 and the reason\n%s", status, body)
		}
		_, _, page := f.get(t, "/admin/")
		mustContain(t, page, "Last 24 hours", "Last 7 days", "unknown shop domain: 19951", "Reachable")
		_, _, page = f.get(t, "/admin/deliveries?rejected=1")
		mustContain(t, page, "Rejected deliveries", "198.51.100.7", "unknown shop domain", "403", "wrong.myshopify.com",
			"and 19,950 more like it")
		if strings.Contains(page, "203.0.113.9") {
			t.Errorf("rejected list shows an accepted delivery")
		}
	})
}

func TestOrdersArePaged(t *testing.T) {
	f := newFixture(t, store.SQLite)
	for i := range 55 {
		f.order(t, int64(100+i), "p@example.com")
	}
	f.login(t)
	_, _, page := f.get(t, "/admin/orders?q=p@example.com")
	mustContain(t, page, ">154</a>", "Older orders")
	next := regexp.MustCompile(`href="([^"]+)" rel="next"`).FindStringSubmatch(page)
	if next == nil {
		t.Fatal("no next page link")
	}
	_, _, page = f.get(t, strings.ReplaceAll(next[1], "&amp;", "&"))
	mustContain(t, page, ">100</a>", ">104</a>")
	if strings.Contains(page, ">105</a>") || strings.Contains(page, "Older orders") {
		t.Errorf("second page repeats orders or offers a third")
	}
}

func TestChangingThePasswordEndsSessions(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.login(t)
	if status, _, _ := f.get(t, "/admin/"); status != http.StatusOK {
		t.Fatalf("dashboard: %d", status)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte("a new password"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	changed := httptest.NewServer(admin.New(admin.Deps{DB: f.db, Admin: config.Admin{User: "admin", PasswordHash: config.Secret(hash)}}))
	defer changed.Close()
	req, _ := http.NewRequest(http.MethodGet, changed.URL+"/admin/", nil)
	for _, c := range f.client.Jar.Cookies(mustURL(t, f.srv.URL+"/admin/")) {
		req.AddCookie(c)
	}
	resp, err := (&http.Client{CheckRedirect: f.client.CheckRedirect}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("old session after a password change: %d; want 303 to the login page", resp.StatusCode)
	}
}

func TestPagesSayOnlyWhatWasDone(t *testing.T) {
	f := newFixture(t, store.SQLite)
	_, _, page := f.get(t, "/admin/login?done=retried&n=3")
	if strings.Contains(page, "queued") {
		t.Errorf("the login page shows an action's result")
	}
	f.login(t)
	_, _, page = f.get(t, "/admin/?done=Call+evil.example+now&n=1")
	if strings.Contains(page, "evil.example") || strings.Contains(page, `class="flash"`) {
		t.Errorf("a link made the dashboard say something")
	}
	_, _, page = f.get(t, "/admin/?done=retried&n=3")
	mustContain(t, page, "3 items queued for enrollment now.")

	// Retry all failed needs a search: it never takes every order there is.
	_, _, page = f.get(t, "/admin/orders")
	if strings.Contains(page, "Retry all failed") {
		t.Errorf("Retry all failed offered without a search")
	}
	if status, _, _ := f.post(t, "/admin/actions/retry-failed", url.Values{"status": {"failed"}}); status != http.StatusBadRequest {
		t.Errorf("retry all failed without a search: %d; want 400", status)
	}
}

// TestButtonsAreTheActionsOpsTakes puts an item in every status and checks
// that the order page offers Retry and Mark resolved exactly for the items
// the actions then take.
func TestButtonsAreTheActionsOpsTakes(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.login(t)
	ctx := context.Background()
	for i, status := range enroll.ItemStatuses() {
		// Two orders with one item in this status: one to retry, one to resolve.
		var items [2]string
		for j := range items {
			id := int64(9100 + 2*i + j)
			// No job is queued for it, and its SKU is its own, so that no
			// other job takes it along: it stays in the status set here.
			res, err := f.db.SaveAccepted(ctx, store.Accepted{
				Delivery: store.Delivery{ReceivedAt: time.Now(), Platform: enroll.Shopify, Source: shop, Status: 200},
				Order: enroll.Order{Platform: enroll.Shopify, Source: shop, ID: id, Paid: true,
					Items: []enroll.Item{{LineItemID: 1, SKU: fmt.Sprintf("sku-%d", id), Email: "l@example.com"}}},
			}, func(context.Context, *sql.Tx, [][]int64) error { return nil })
			if err != nil {
				t.Fatal(err)
			}
			it := store.ItemRecord{ID: res.Enqueued[0]}
			switch status {
			case enroll.ItemPending:
			case enroll.ItemResolved:
				if err := f.db.RecordAttempt(ctx, store.Attempt{ItemID: it.ID, Outcome: enroll.OutcomeFailed, Status: enroll.ItemFailed}); err != nil {
					t.Fatal(err)
				}
				if err := f.db.ResolveItem(ctx, it.ID, "admin", "by hand"); err != nil {
					t.Fatal(err)
				}
			default:
				if err := f.db.RecordAttempt(ctx, store.Attempt{ItemID: it.ID, Outcome: enroll.OutcomeRetry, Status: status}); err != nil {
					t.Fatal(err)
				}
			}
			items[j] = strconv.FormatInt(it.ID, 10)
			_, _, page := f.get(t, fmt.Sprintf("/admin/orders/%d", id))
			section := regexp.MustCompile(`(?s)<section class="item" aria-labelledby="item-` + items[j] + `">.*?</section>`).FindString(page)
			if section == "" {
				t.Fatalf("order %d: no section for item %s:\n%s", id, items[j], page)
			}
			if shown := strings.Contains(section, `action="/admin/actions/retry"`); j == 0 && shown != status.Retryable() {
				t.Errorf("a %s item: Retry shown %v; want %v", status, shown, status.Retryable())
			}
			if shown := strings.Contains(section, `action="/admin/actions/resolve"`); j == 1 && shown != status.Resolvable() {
				t.Errorf("a %s item: Mark resolved shown %v; want %v", status, shown, status.Resolvable())
			}
		}
		_, loc, _ := f.post(t, "/admin/actions/retry", url.Values{"item_id": {items[0]}})
		if taken := strings.Contains(loc, "n=1"); taken != status.Retryable() {
			t.Errorf("retry of a %s item: taken %v (%s); want %v", status, taken, loc, status.Retryable())
		}
		code, _, _ := f.post(t, "/admin/actions/resolve", url.Values{"item_id": {items[1]}, "note": {"by hand"}})
		if taken := code == http.StatusSeeOther; taken != status.Resolvable() || (!taken && code != http.StatusConflict) {
			t.Errorf("resolve of a %s item: %d; want taken %v (or 409)", status, code, status.Resolvable())
		}
	}
}

// TestOrderPageFindsTheShopInAnyCase: the order page names the shop as
// the command line's --source does (a Shopify domain in any case).
func TestOrderPageFindsTheShopInAnyCase(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.order(t, 9301, "ok@example.com")
	f.login(t)
	for _, source := range []string{shop, "Console.MyShopify.COM", " CONSOLE.myshopify.com"} {
		status, _, page := f.get(t, "/admin/orders/9301?platform=shopify&source="+url.QueryEscape(source))
		if status != http.StatusOK || !strings.Contains(page, "Order 9301") {
			t.Errorf("order page with source %q: %d", source, status)
		}
	}
	if status, _, _ := f.get(t, "/admin/orders/9301?source=other.myshopify.com"); status != http.StatusNotFound {
		t.Errorf("order page of another shop: %d; want 404", status)
	}
	// The search's shop field names it the same way.
	for source, found := range map[string]bool{"Console.MyShopify.COM": true, "other.myshopify.com": false} {
		status, _, page := f.get(t, "/admin/orders?source="+url.QueryEscape(source))
		if status != http.StatusOK || strings.Contains(page, ">9301</a>") != found {
			t.Errorf("search of source %q: %d, order 9301 found %v; want found %v", source, status, !found, found)
		}
	}
}

// TestStatusFilterOffersEveryStatus: the status filter offers the item and
// order statuses enroll knows, each of which a search takes.
func TestStatusFilterOffersEveryStatus(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.login(t)
	_, _, page := f.get(t, "/admin/orders")
	var want []string
	for _, s := range enroll.ItemStatuses() {
		want = append(want, string(s))
	}
	for _, s := range enroll.OrderStatuses() {
		want = append(want, string(s))
	}
	var offered []string
	for _, m := range regexp.MustCompile(`<option>([^<]+)</option>`).FindAllStringSubmatch(page, -1) {
		offered = append(offered, m[1])
	}
	if diff := cmp.Diff(want, offered); diff != "" {
		t.Errorf("statuses offered (-want +got):\n%s", diff)
	}
	for _, s := range want {
		if status, _, _ := f.get(t, "/admin/orders?status="+s); status != http.StatusOK {
			t.Errorf("search of status %s: %d", s, status)
		}
	}
	if status, _, _ := f.get(t, "/admin/orders?status=done"); status != http.StatusBadRequest {
		t.Errorf("search of an unknown status: %d; want 400", status)
	}
}

// TestStaticServesOnlyTheStaticFolder: without a session, /admin/static/
// serves the static folder's files and nothing else: no templates, no
// directory listing.
func TestStaticServesOnlyTheStaticFolder(t *testing.T) {
	f := newFixture(t, store.SQLite)
	resp, err := f.client.Get(f.srv.URL + "/admin/static/style.css")
	if err != nil {
		t.Fatal(err)
	}
	status, _, css := read(t, resp)
	if status != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || css == "" {
		t.Errorf("style.css: %d %q", status, resp.Header.Get("Content-Type"))
	}
	for _, path := range []string{
		"/admin/static/..%2ftemplates%2flogin.html",
		"/admin/static/..%2Ftemplates%2Flayout.html",
		"/admin/static/%2e%2e%2ftemplates%2flogin.html",
		"/admin/static/..%5ctemplates%5clogin.html",
		"/admin/static/",
		"/admin/static",
		"/admin/static/.",
		"/admin/static/nothing.css",
		"/admin/templates/login.html",
		"/admin/static/%2e%2e/templates/login.html",
	} {
		status, loc, body := f.get(t, path)
		if status == http.StatusOK || strings.Contains(body, "{{") || strings.Contains(body, "style.css") {
			t.Errorf("GET %s without a session: %d %q\n%s", path, status, loc, body)
		}
	}
}

// TestActionWithAnUnreadableBackReturnsToTheDashboard: a back field that
// is no URL (%zz) used to make the action panic after it was done.
func TestActionWithAnUnreadableBackReturnsToTheDashboard(t *testing.T) {
	f := newFixture(t, store.SQLite)
	f.order(t, 9401, "broken@example.com")
	f.login(t)
	item := strconv.FormatInt(f.waitItems(t, 9401, func(s enroll.ItemStatus) bool { return s == enroll.ItemFailed }).Items[0].ID, 10)
	for _, back := range []string{"/admin/%zz", "https://evil.example/admin/", "//evil.example/"} {
		status, loc, body := f.post(t, "/admin/actions/resolve", url.Values{"item_id": {item}, "note": {"x"}, "back": {back}})
		if status != http.StatusSeeOther && status != http.StatusConflict {
			t.Fatalf("resolve with back %q: %d\n%s", back, status, body)
		}
		if status == http.StatusSeeOther && !strings.HasPrefix(loc, "/admin/?done=resolved") {
			t.Errorf("resolve with back %q went to %q; want the dashboard", back, loc)
		}
		status, loc, body = f.post(t, "/admin/actions/retry", url.Values{"item_id": {item}, "back": {back}})
		if status != http.StatusSeeOther || !strings.HasPrefix(loc, "/admin/?done=retried") {
			t.Errorf("retry with back %q: %d %q\n%s", back, status, loc, body)
		}
	}
}
