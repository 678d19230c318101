package cli_test

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	_ "modernc.org/sqlite"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// The Django app's databases, made by the tests with its schema: SQLite
// in t.TempDir(), PostgreSQL on TEST_DATABASE_URL's server, and the local
// MariaDB (root without a password on 127.0.0.1:3306, as .ci/run starts
// it; TEST_MARIADB_URL names another).

// djangoBackends are the backends the Django app ran on.
var djangoBackends = []string{"sqlite", "postgres", "mariadb"}

// djangoColumnTypes are, per backend, the column types Django's migrations
// create: an auto id and a DateTimeField.
var djangoColumnTypes = map[string][2]string{
	"sqlite":   {"integer NOT NULL PRIMARY KEY AUTOINCREMENT", "datetime"},
	"postgres": {"serial NOT NULL PRIMARY KEY", "timestamp with time zone"},
	"mariadb":  {"integer AUTO_INCREMENT NOT NULL PRIMARY KEY", "datetime(6)"},
}

// djangoSchema is the Django app's schema (its migrations' end state).
func djangoSchema(backend string) []string {
	auto, datetime := djangoColumnTypes[backend][0], djangoColumnTypes[backend][1]
	headers := "text"
	if backend == "postgres" {
		headers = "jsonb"
	}
	stmts := []string{fmt.Sprintf(`CREATE TABLE webhook_receiver_jsonwebhookdata (id %s, status integer NOT NULL,
		source varchar(39) NULL, received %s NOT NULL, headers %s NOT NULL, body %s NOT NULL, content %s NULL)`,
		auto, datetime, headers, map[string]string{"sqlite": "blob", "postgres": "bytea", "mariadb": "longblob"}[backend], headers)}
	for _, p := range []string{"shopify", "woocommerce"} {
		stmts = append(stmts,
			fmt.Sprintf(`CREATE TABLE webhook_receiver_%[1]s_%[1]sorder (id bigint NOT NULL PRIMARY KEY,
				email varchar(254) NOT NULL, first_name varchar(254) NOT NULL, last_name varchar(254) NOT NULL,
				received %[2]s NOT NULL, status integer NOT NULL,
				webhook_id integer NULL REFERENCES webhook_receiver_jsonwebhookdata (id))`, p, datetime),
			fmt.Sprintf(`CREATE TABLE webhook_receiver_%[1]s_%[1]sorderitem (id %[2]s, sku varchar(254) NOT NULL,
				email varchar(254) NOT NULL, status integer NOT NULL,
				order_id bigint NOT NULL REFERENCES webhook_receiver_%[1]s_%[1]sorder (id),
				CONSTRAINT unique_%[1]s_order_sku_email UNIQUE (order_id, sku, email))`, p, auto))
	}
	return stmts
}

// djangoOrder is an order of the Django app's tables, with its items.
type djangoOrder struct {
	platform string
	id       int64
	email    string
	status   int
	items    []djangoItem
}

type djangoItem struct {
	sku, email string
	status     int
}

// The Django app's statuses.
const (
	oldError      = -1
	oldNew        = 0
	oldProcessing = 1
	oldProcessed  = 2
)

// djangoHistory is the old app's data of most tests.
var djangoHistory = []djangoOrder{
	{"shopify", 5001, "buyer@example.com", oldProcessed, []djangoItem{
		{"course-v1:Org+A+1", "a@example.com", oldProcessed}, {"course-v1:Org+B+1", "b@example.com", oldProcessed}}},
	{"shopify", 5002, "buyer@example.com", oldError, []djangoItem{{"course-v1:Org+A+1", "c@example.com", oldError}}},
	{"shopify", 5003, "buyer@example.com", oldNew, []djangoItem{{"course-v1:Org+C+1", "d@example.com", oldNew}}},
	{"shopify", 5004, "buyer@example.com", oldProcessing, []djangoItem{
		{"course-v1:Org+A+1", "e@example.com", oldProcessed}, {"course-v1:Org+C+1", "e@example.com", oldProcessing}}},
	{"shopify", 5834765623456, "big@example.com", oldProcessed, []djangoItem{{"course-v1:Org+B+1", "f@example.com", oldProcessed}}},
	{"woocommerce", 77, "w@example.com", oldProcessed, []djangoItem{{"course-v1:Org+W+1", "w@example.com", oldProcessed}}},
	{"woocommerce", 78, "x@example.com", oldNew, []djangoItem{{"course-v1:Org+W+1", "x@example.com", oldNew}}},
}

// djangoReceived is when the old app received every order of the tests,
// in the text form Django writes to SQLite and MySQL.
const djangoReceived = "2021-03-04 05:06:07.123456"

// oldDatabase makes a Django app's database on the backend holding orders,
// and returns its URL for --from.
func oldDatabase(t *testing.T, backend string, orders []djangoOrder) string {
	t.Helper()
	var u, driver, dsn string
	switch backend {
	case "sqlite":
		path := filepath.Join(t.TempDir(), "db.sqlite3")
		u, driver, dsn = "sqlite:"+path, "sqlite", path
	case "postgres":
		u = storetest.URL(t, store.Postgres)
		driver, dsn = "pgx", u
	case "mariadb":
		u, dsn = freshMariaDB(t)
		driver = "mysql"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	received := "'" + djangoReceived + "'"
	if backend == "postgres" {
		received = "'" + djangoReceived + "+00'"
	}
	stmts := djangoSchema(backend)
	for _, o := range orders {
		stmts = append(stmts, fmt.Sprintf(`INSERT INTO webhook_receiver_%[1]s_%[1]sorder (id, email, first_name, last_name, received, status)
			VALUES (%d, '%s', 'First', 'Last', %s, %d)`, o.platform, o.id, o.email, received, o.status))
		for _, it := range o.items {
			stmts = append(stmts, fmt.Sprintf(`INSERT INTO webhook_receiver_%[1]s_%[1]sorderitem (sku, email, status, order_id)
				VALUES ('%s', '%s', %d, %d)`, o.platform, it.sku, it.email, it.status, o.id))
		}
	}
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("make the old app's database: %v\n%s", err, s)
		}
	}
	return u
}

var mariaCounter atomic.Int64

// freshMariaDB creates a database on the local MariaDB, dropped when the
// test ends, and returns its mysql:// URL and the driver's DSN for it.
// Without a MariaDB the test is skipped, or failed under CI=true.
func freshMariaDB(t *testing.T) (u, dsn string) {
	t.Helper()
	server := os.Getenv("TEST_MARIADB_URL")
	if server == "" {
		server = "mysql://root@127.0.0.1:3306/test"
	}
	su, err := url.Parse(server)
	if err != nil {
		t.Fatalf("TEST_MARIADB_URL: %v", err)
	}
	cfg := mysql.NewConfig()
	cfg.User = su.User.Username()
	cfg.Passwd, _ = su.User.Password()
	cfg.Net, cfg.Addr = "tcp", su.Host
	cfg.Timeout = 5 * time.Second
	admin, err := sql.Open("mysql", cfg.FormatDSN())
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.Ping(); err != nil {
		msg := fmt.Sprintf("MariaDB at %s is not reachable (%v): start it (.ci/run does) or set TEST_MARIADB_URL", su.Host, err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: the MariaDB tests must run in CI)")
		}
		t.Skip(msg)
	}
	name := fmt.Sprintf("wr_django_%d_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9, mariaCounter.Add(1))
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create a MariaDB test database: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("mysql", cfg.FormatDSN())
		if err != nil {
			return
		}
		defer admin.Close()
		if _, err := admin.Exec("DROP DATABASE IF EXISTS " + name); err != nil {
			t.Logf("drop MariaDB test database %s: %v", name, err)
		}
	})
	su.Path = "/" + name
	cfg.DBName = name
	return su.String(), cfg.FormatDSN()
}

// ourBackend is the receiver's database for an old app's backend: the
// same where it can be.
func ourBackend(backend string) store.Dialect {
	if backend == "postgres" {
		return store.Postgres
	}
	return store.SQLite
}

// ordersJSON returns every order as 'orders list --json' prints it, by
// shop order id.
func ordersJSON(t *testing.T, e env) map[int64]map[string]any {
	t.Helper()
	lines := orderLines(t, mustRun(t, e, "orders", "list", "--json", "--limit", "500"))
	byID := map[int64]map[string]any{}
	for i, id := range orderIDs(lines) {
		byID[id] = lines[i]
	}
	return byID
}

// itemStatuses are an order's items' statuses by learner and SKU.
func itemStatuses(o map[string]any) map[string]string {
	out := map[string]string{}
	for _, it := range o["items"].([]any) {
		m := it.(map[string]any)
		out[m["email"].(string)+" "+m["sku"].(string)] = m["status"].(string)
	}
	return out
}

func TestImportDjango(t *testing.T) {
	for _, backend := range djangoBackends {
		t.Run(backend, func(t *testing.T) {
			lms := edxtest.New(t)
			e := baseEnv(t, lms, ourBackend(backend))
			e["USER"] = "tester"
			from := oldDatabase(t, backend, djangoHistory)
			mustRun(t, e, "migrate")

			out := mustRun(t, e, "import-django", "--from", from, "--dry-run")
			for _, want := range []string{"Dry run: nothing is changed",
				"Shopify orders (first.myshopify.com): 5 read, 5 to import, 0 here already",
				"items: 4 enrolled, 1 failed, 2 resolved (imported, not sent by the old app)",
				"WooCommerce orders (https://shop.example.com): 2 read, 2 to import, 0 here already",
				"items: 1 enrolled, 1 resolved"} {
				if !strings.Contains(out, want) {
					t.Errorf("dry run: want %q in:\n%s", want, out)
				}
			}
			if got := ordersJSON(t, e); len(got) != 0 {
				t.Fatalf("the dry run stored %d orders", len(got))
			}

			out = mustRun(t, e, "import-django", "--from", from)
			for _, want := range []string{"Shopify orders (first.myshopify.com): 5 read, 5 imported, 0 here already",
				"items: 4 enrolled, 1 failed, 2 resolved", "WooCommerce orders (https://shop.example.com): 2 read, 2 imported"} {
				if !strings.Contains(out, want) {
					t.Errorf("import: want %q in:\n%s", want, out)
				}
			}
			got := ordersJSON(t, e)
			want := map[int64]struct {
				source, status string
				items          map[string]string
			}{
				5001:          {"first.myshopify.com", "PROCESSED", map[string]string{"a@example.com course-v1:Org+A+1": "enrolled", "b@example.com course-v1:Org+B+1": "enrolled"}},
				5002:          {"first.myshopify.com", "ERROR", map[string]string{"c@example.com course-v1:Org+A+1": "failed"}},
				5003:          {"first.myshopify.com", "PROCESSED", map[string]string{"d@example.com course-v1:Org+C+1": "resolved"}},
				5004:          {"first.myshopify.com", "PROCESSED", map[string]string{"e@example.com course-v1:Org+A+1": "enrolled", "e@example.com course-v1:Org+C+1": "resolved"}},
				5834765623456: {"first.myshopify.com", "PROCESSED", map[string]string{"f@example.com course-v1:Org+B+1": "enrolled"}},
				77:            {"https://shop.example.com", "PROCESSED", map[string]string{"w@example.com course-v1:Org+W+1": "enrolled"}},
				78:            {"https://shop.example.com", "PROCESSED", map[string]string{"x@example.com course-v1:Org+W+1": "resolved"}},
			}
			if len(got) != len(want) {
				t.Fatalf("imported %d orders, want %d: %v", len(got), len(want), got)
			}
			for id, w := range want {
				o := got[id]
				if o == nil || o["source"] != w.source || o["status"] != w.status || fmt.Sprint(itemStatuses(o)) != fmt.Sprint(w.items) {
					t.Errorf("order %d: %v; want %+v", id, o, w)
					continue
				}
				if created := o["created_at"].(string); !strings.HasPrefix(created, "2021-03-04T05:06:07.123456") {
					t.Errorf("order %d created at %s; want the old app's received time %s", id, created, djangoReceived)
				}
			}

			// The import is on the order's page, by the operator; the items
			// say why they are failed or resolved.
			var detail struct {
				Items []struct {
					Status    string `json:"status"`
					LastError string `json:"last_error"`
				} `json:"items"`
				Actions []struct{ Actor, Action, Note string } `json:"actions"`
			}
			if err := json.Unmarshal([]byte(mustRun(t, e, "orders", "show", "5003", "--json")), &detail); err != nil {
				t.Fatal(err)
			}
			if len(detail.Actions) != 1 || detail.Actions[0].Actor != "cli:tester" || detail.Actions[0].Action != "import" ||
				!strings.Contains(detail.Actions[0].Note, "where the order was NEW") || strings.Contains(detail.Actions[0].Note, "xxxxx@") ||
				len(detail.Items) != 1 || !strings.Contains(detail.Items[0].LastError, "imported, not sent by the old app (NEW there)") {
				t.Errorf("order 5003: %+v", detail)
			}

			// Twice changes nothing.
			before := mustRun(t, e, "orders", "list", "--json", "--limit", "500")
			out = mustRun(t, e, "import-django", "--from", from)
			if !strings.Contains(out, "5 read, 0 imported, 5 here already") || !strings.Contains(out, "2 read, 0 imported, 2 here already") {
				t.Errorf("second import:\n%s", out)
			}
			if after := mustRun(t, e, "orders", "list", "--json", "--limit", "500"); after != before {
				t.Errorf("the second import changed the orders:\n%s\nwas:\n%s", after, before)
			}

			// The shop redelivers an imported order: a duplicate.
			s := serve(t, e)
			if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
				shopifyOrder(5001, "course-v1:Org+A+1", "a@example.com")); got != 200 {
				t.Fatalf("redelivery: %d", got)
			}
			s.stop(t)
			ds := deliveryLines(t, mustRun(t, e, "deliveries", "list", "--json"))
			if len(ds) != 1 || ds[0].Reason != "duplicate" {
				t.Errorf("redelivery of an imported order: %+v; want one duplicate", ds)
			}
			if n := lms.Enrollments(); n != 0 {
				t.Errorf("the LMS enrolled %d learners; the import enqueues nothing without --enqueue-pending", n)
			}

			// What the old app gave up on is retried by an operator.
			if out := mustRun(t, e, "orders", "retry", "5002"); !strings.Contains(out, "1") {
				t.Errorf("orders retry 5002: %s", out)
			}
			s = serve(t, e)
			waitEnrolled(t, lms, "course-v1:Org+A+1", "c@example.com")
			s.stop(t)
		})
	}
}

func TestImportDjangoEnqueuePending(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			lms := edxtest.New(t)
			e := baseEnv(t, lms, ourBackend(backend))
			from := oldDatabase(t, backend, djangoHistory)
			mustRun(t, e, "migrate")
			out := mustRun(t, e, "import-django", "--from", from, "--enqueue-pending", "--dry-run")
			if !strings.Contains(out, "items: 2 pending (enqueued), 4 enrolled, 1 failed") {
				t.Errorf("dry run with --enqueue-pending:\n%s", out)
			}
			out = mustRun(t, e, "import-django", "--from", from, "--enqueue-pending")
			if !strings.Contains(out, "items: 2 pending (enqueued), 4 enrolled, 1 failed") || !strings.Contains(out, "items: 1 pending (enqueued), 1 enrolled") {
				t.Errorf("import with --enqueue-pending:\n%s", out)
			}
			// The service enrolls them as any webhook's items.
			s := serve(t, e)
			waitEnrolled(t, lms, "course-v1:Org+C+1", "d@example.com")
			waitEnrolled(t, lms, "course-v1:Org+C+1", "e@example.com")
			waitEnrolled(t, lms, "course-v1:Org+W+1", "x@example.com")
			waitFor(t, "order 5004 to be processed", func() bool { return ordersJSON(t, e)[5004]["status"] == "PROCESSED" })
			s.stop(t)
			for _, enrolledThere := range [][2]string{{"course-v1:Org+A+1", "a@example.com"}, {"course-v1:Org+A+1", "c@example.com"}, {"course-v1:Org+W+1", "w@example.com"}} {
				if lms.Enrolled(enrolledThere[0], enrolledThere[1]) {
					t.Errorf("%s enrolled in %s again: only NEW and PROCESSING items are sent", enrolledThere[1], enrolledThere[0])
				}
			}
			if got := ordersJSON(t, e)[5002]["status"]; got != "ERROR" {
				t.Errorf("order 5002 is %v; the failed item waits for an operator", got)
			}
		})
	}
}

// writeConfig writes a YAML configuration file and returns its path.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestImportDjangoAttribution(t *testing.T) {
	lms := edxtest.New(t)
	from := oldDatabase(t, "sqlite", djangoHistory)
	shopOnly := []djangoOrder{djangoHistory[0]}
	fromShopOnly := oldDatabase(t, "sqlite", shopOnly)

	twoShops := env{
		"WEBHOOK_RECEIVER_DATABASE_URL":  storetest.URL(t, store.SQLite),
		"WEBHOOK_RECEIVER_LMS_BASE_URL":  lms.URL,
		"WEBHOOK_RECEIVER_OAUTH2_KEY":    lms.ClientID,
		"WEBHOOK_RECEIVER_OAUTH2_SECRET": lms.ClientSecret,
		"WEBHOOK_RECEIVER_CONFIG": writeConfig(t, `
shopify:
  - shop_domain: "first.myshopify.com"
    secrets: ["one"]
  - shop_domain: "second.myshopify.com"
    secrets: ["two"]
`),
	}
	mustRun(t, twoShops, "migrate")
	noShop := baseEnv(t, lms, store.SQLite)
	delete(noShop, "WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN")
	delete(noShop, "WEBHOOK_RECEIVER_SHOPIFY_SECRET")
	mustRun(t, noShop, "migrate")
	one := baseEnv(t, lms, store.SQLite)
	mustRun(t, one, "migrate")

	for _, c := range []struct {
		name string
		e    env
		args []string
		want []string
	}{
		{"several shops, none named", twoShops, []string{"--from", fromShopOnly},
			[]string{"2 shops are configured (first.myshopify.com, second.myshopify.com)", "--shop"}},
		{"no shop configured", noShop, []string{"--from", from},
			[]string{"5 Shopify order(s), and no Shopify shop is configured", "WEBHOOK_RECEIVER_SHOPIFY_SHOP_DOMAIN", "--shop"}},
		{"a shop not configured", one, []string{"--from", from, "--shop", "other.myshopify.com"},
			[]string{`--shop "other.myshopify.com" is not a configured Shopify shop (configured: first.myshopify.com)`}},
		{"a site not configured", one, []string{"--from", from, "--site", "https://other.example.com"},
			[]string{`--site "https://other.example.com" is not a configured WooCommerce site`, "WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE"}},
		{"no site configured", twoShops, []string{"--from", from, "--shop", "second.myshopify.com"},
			[]string{"2 WooCommerce order(s), and no WooCommerce site is configured", "WEBHOOK_RECEIVER_WOOCOMMERCE_SOURCE", "--site"}},
		{"no --from", one, nil, []string{"--from is required"}},
		{"not the old app's database", one, []string{"--from", storetest.URL(t, store.SQLite)},
			[]string{"no table of the old app", "webhook_receiver_shopify_shopifyorder"}},
		{"a password", one, []string{"--from", "mysql://root:s3cret-pw@127.0.0.1:1/webhook_receiver"},
			[]string{"mysql://root:xxxxx@127.0.0.1:1/webhook_receiver"}},
		{"an unknown scheme", one, []string{"--from", "oracle://u:s3cret-pw@h/db"}, []string{`unsupported scheme "oracle"`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.name == "not the old app's database" {
				// An empty SQLite file: no Django table in it.
				path := strings.TrimPrefix(c.args[1], "sqlite:")
				if err := os.WriteFile(path, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			out, errOut, err := runCmd(t, c.e, "", append([]string{"import-django"}, c.args...)...)
			if err == nil {
				t.Fatalf("succeeded:\n%s", out)
			}
			msg := err.Error() + "\n" + errOut
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("want %q in: %s", w, msg)
				}
			}
			if strings.Contains(msg+out, "s3cret-pw") {
				t.Errorf("the password is shown: %s", msg)
			}
		})
	}
	if got := ordersJSON(t, one); len(got) != 0 {
		t.Errorf("a refused import stored %d orders", len(got))
	}

	// Named, the shop gets the orders; a redelivery from it is a duplicate
	// (the shop's name as configured, whatever case --shop uses).
	out := mustRun(t, twoShops, "import-django", "--from", fromShopOnly, "--shop", "Second.MyShopify.com")
	if !strings.Contains(out, "Shopify orders (second.myshopify.com): 1 read, 1 imported") || !strings.Contains(out, "WooCommerce orders: none") {
		t.Errorf("import with --shop:\n%s", out)
	}
	got := ordersJSON(t, twoShops)
	if len(got) != 1 || got[5001]["source"] != "second.myshopify.com" {
		t.Fatalf("orders after --shop: %v", got)
	}
	addr := freeAddr(t)
	twoShops["WEBHOOK_RECEIVER_LISTEN"] = addr
	s := start(t, twoShops, addr, "serve")
	if got := s.postShopify(t, "second.myshopify.com", "two", shopifyOrder(5001, "course-v1:Org+A+1", "a@example.com")); got != 200 {
		t.Fatalf("redelivery: %d", got)
	}
	s.stop(t)
	if ds := deliveryLines(t, mustRun(t, twoShops, "deliveries", "list", "--json")); len(ds) != 1 || ds[0].Reason != "duplicate" {
		t.Errorf("redelivery: %+v", ds)
	}
}

// The receiver's database may be the Django app's own (DJANGO_DATABASE_URL
// kept as it was): the import reads and writes the same database.
func TestImportDjangoFromItsOwnDatabase(t *testing.T) {
	for _, backend := range []string{"sqlite", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			lms := edxtest.New(t)
			withoutItems := []djangoOrder{
				{"shopify", 6001, "n@example.com", oldProcessed, nil},
				{"shopify", 6002, "n@example.com", oldError, nil},
				{"shopify", 6003, "n@example.com", oldProcessing, nil},
			}
			from := oldDatabase(t, backend, append(withoutItems, djangoHistory...))
			e := baseEnv(t, lms, ourBackend(backend))
			delete(e, "WEBHOOK_RECEIVER_DATABASE_URL")
			e["DJANGO_DATABASE_URL"] = from
			mustRun(t, e, "migrate")
			out := mustRun(t, e, "import-django", "--from", from)
			if !strings.Contains(out, "Shopify orders (first.myshopify.com): 8 read, 8 imported") {
				t.Errorf("import:\n%s", out)
			}
			got := ordersJSON(t, e)
			if len(got) != 10 || got[6001]["status"] != "PROCESSED" || got[6002]["status"] != "ERROR" || got[6003]["status"] != "NEW" {
				t.Errorf("orders: %v", got)
			}
			if out := mustRun(t, e, "import-django", "--from", from); !strings.Contains(out, "8 read, 0 imported, 8 here already") {
				t.Errorf("second import:\n%s", out)
			}
		})
	}
}
