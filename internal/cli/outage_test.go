package cli_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// proxy forwards TCP connections to a database server and can be cut off
// and restored, as if the server went away and came back.
type proxy struct {
	addr, target string
	mu           sync.Mutex
	ln           net.Listener
	conns        []net.Conn
}

func newProxy(t *testing.T, target string) *proxy {
	p := &proxy{addr: freeAddr(t), target: target}
	p.up(t)
	t.Cleanup(p.down)
	return p
}

func (p *proxy) up(t *testing.T) {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		t.Fatal(err)
	}
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, s)
			p.mu.Unlock()
			go func() { io.Copy(s, c); s.Close() }()
			go func() { io.Copy(c, s); c.Close() }()
		}
	}()
}

// down refuses new connections and breaks the open ones.
func (p *proxy) down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// waitUntil polls cond until it holds, and fails the test, saying what it
// waited for, if it does not within a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func ready(s *service) int {
	resp, err := http.Get(s.url + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestDatabaseOutage(t *testing.T) {
	lms := edxtest.New(t)
	e := baseEnv(t, lms, store.Postgres)
	u, err := url.Parse(storetest.URL(t, store.Postgres))
	if err != nil {
		t.Fatal(err)
	}
	p := newProxy(t, u.Host)
	u.Host = p.addr
	e["WEBHOOK_RECEIVER_DATABASE_URL"] = u.String()
	// A job running when the database went away cannot record its end: it
	// is run again once RESCUE_AFTER has passed (and the queue's 30 s check).
	e["WEBHOOK_RECEIVER_LMS_TIMEOUT"] = "1s"
	e["WEBHOOK_RECEIVER_RESCUE_AFTER"] = "5s"
	s := serve(t, e)

	// Eight shops' worth of webhooks keep coming while the database goes
	// away and comes back.
	var (
		mu           sync.Mutex
		acknowledged []int
		statuses     = map[int]int{}
		recovered    atomic.Bool
		afterwards   = map[int]int{} // answers to webhooks sent once /readyz recovered
		next         atomic.Int64
		stop         = make(chan struct{})
		senders      sync.WaitGroup
	)
	for range 8 {
		senders.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				id := int(next.Add(1))
				after := recovered.Load()
				status := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
					shopifyOrder(int64(10000+id), "course-v1:Org+Out+1", fmt.Sprintf("o%d@example.com", id)))
				mu.Lock()
				statuses[status]++
				if after {
					afterwards[status]++
				}
				if status == 200 {
					acknowledged = append(acknowledged, id)
				}
				mu.Unlock()
			}
		})
	}
	count := func(status int) int {
		mu.Lock()
		defer mu.Unlock()
		return statuses[status]
	}
	waitUntil(t, "webhooks acknowledged before the outage", func() bool { return count(200) >= 20 })
	p.down()
	waitUntil(t, "a webhook answered 503 during the outage", func() bool { return count(http.StatusServiceUnavailable) > 0 })
	waitUntil(t, "/readyz to answer 503 during the outage", func() bool { return ready(s) == http.StatusServiceUnavailable })
	p.up(t)
	deadline := time.Now().Add(30 * time.Second)
	for ready(s) != 200 {
		if time.Now().After(deadline) {
			t.Fatalf("/readyz did not recover:\n%s", s.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// Once ready again, the service takes every webhook.
	recovered.Store(true)
	for {
		mu.Lock()
		n := afterwards[200] + afterwards[http.StatusServiceUnavailable]
		mu.Unlock()
		if n >= 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d webhooks answered after /readyz recovered", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	close(stop)
	senders.Wait()

	if statuses[http.StatusServiceUnavailable] == 0 || len(statuses) != 2 {
		t.Errorf("answers %v; want only 200 and 503 (the shop redelivers a 503)", statuses)
	}
	if afterwards[200] == 0 || len(afterwards) != 1 {
		t.Errorf("answers once /readyz recovered %v; want only 200", afterwards)
	}
	db, err := store.Open(context.Background(), e["WEBHOOK_RECEIVER_DATABASE_URL"], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline = time.Now().Add(90 * time.Second)
	for _, id := range acknowledged {
		email := fmt.Sprintf("o%d@example.com", id)
		for !lms.Enrolled("course-v1:Org+Out+1", email) {
			if time.Now().After(deadline) {
				t.Fatalf("acknowledged order %d never enrolled", id)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := db.FindOrder(context.Background(), enroll.Shopify, "first.myshopify.com", int64(10000+id)); err != nil {
			t.Errorf("acknowledged order %d not in the database: %v", id, err)
		}
	}
	t.Logf("answers during the test: %v, of which after /readyz recovered: %v", statuses, afterwards)
}

func TestSQLiteLockedByAnotherProcess(t *testing.T) {
	lms := edxtest.New(t)
	e := baseEnv(t, lms, store.SQLite)
	s := serve(t, e)
	path, err := store.SQLitePath(e["WEBHOOK_RECEIVER_DATABASE_URL"])
	if err != nil {
		t.Fatal(err)
	}
	// Another program holds the write lock: the database is unwritable.
	other, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	conn, err := other.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE"); err != nil {
		t.Fatal(err)
	}
	body := shopifyOrder(800, "course-v1:Org+Lock+1", "lock@example.com")
	if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret", body); got != http.StatusServiceUnavailable {
		t.Errorf("webhook while the database is locked = %d; want 503", got)
	}
	if got := ready(s); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz while the database is locked = %d; want 503", got)
	}
	if _, err := conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		t.Fatal(err)
	}
	if got := ready(s); got != 200 {
		t.Errorf("/readyz after the lock is released = %d", got)
	}
	if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret", body); got != 200 {
		t.Errorf("the shop's redelivery after the lock = %d; want 200", got)
	}
	waitEnrolled(t, lms, "course-v1:Org+Lock+1", "lock@example.com")
}

// The LMS answers 503, then stops answering in time, then refuses
// connections, over several retries: when it is back, every item is
// enrolled with no operator action and none is marked failed. Each phase
// lasts until the receiver has recorded an attempt that failed its way.
func TestLMSOutagePhases(t *testing.T) {
	lms := edxtest.New(t)
	lmsURL, _ := url.Parse(lms.URL)
	p := newProxy(t, lmsURL.Host)
	e := baseEnv(t, lms, store.SQLite)
	e["WEBHOOK_RECEIVER_LMS_BASE_URL"] = "http://" + p.addr
	e["WEBHOOK_RECEIVER_LMS_TIMEOUT"] = "300ms"
	e["WEBHOOK_RECEIVER_RETRY_DELAY"] = "100ms"
	s := serve(t, e)
	// The test reads the service's database beside it, as an operator's
	// commands do.
	db, err := store.Open(context.Background(), e["WEBHOOK_RECEIVER_DATABASE_URL"], store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	const orders = 10
	lms.SetDown(true) // 503
	for i := range orders {
		if got := s.postShopify(t, "first.myshopify.com", "shopify-webhook-secret",
			shopifyOrder(int64(30000+i), "course-v1:Org+Phases+1", fmt.Sprintf("out%d@example.com", i))); got != 200 {
			t.Fatalf("order %d: %d", i, got)
		}
	}
	// attempts returns the attempts recorded so far for the orders' items,
	// and the items.
	attempts := func() ([]store.Attempt, []store.ItemRecord) {
		var as []store.Attempt
		var items []store.ItemRecord
		for i := range orders {
			o, err := db.FindOrder(context.Background(), enroll.Shopify, "first.myshopify.com", int64(30000+i))
			if err != nil {
				t.Fatalf("order %d: %v", i, err)
			}
			a, err := db.Attempts(context.Background(), o.Items[0].ID)
			if err != nil {
				t.Fatal(err)
			}
			as, items = append(as, a...), append(items, o.Items[0])
		}
		return as, items
	}
	recorded := func(match func(store.Attempt) bool) func() bool {
		return func() bool {
			as, _ := attempts()
			return slices.ContainsFunc(as, match)
		}
	}
	waitUntil(t, "an attempt answered 503 while the LMS is down",
		recorded(func(a store.Attempt) bool { return a.HTTPStatus == http.StatusServiceUnavailable }))

	lms.SetDown(false)
	// Answers too late: each call is held until the receiver gives up on it.
	abandoned := make(chan struct{}, 1)
	lms.SetHold(func(r *http.Request, _ edxtest.Call) {
		<-r.Context().Done()
		select {
		case abandoned <- struct{}{}:
		default:
		}
	})
	waitUntil(t, "an attempt with no answer in time", recorded(func(a store.Attempt) bool {
		return a.HTTPStatus == 0 && strings.Contains(a.Detail, "no answer within")
	}))
	select { // the LMS sees the call given up, too
	case <-abandoned:
	case <-time.After(time.Minute):
		t.Fatal("an attempt timed out, but the LMS saw no call given up")
	}
	lms.SetHold(nil)

	p.down() // connection refused
	waitUntil(t, "an attempt refused a connection", recorded(func(a store.Attempt) bool {
		return a.HTTPStatus == 0 && strings.Contains(a.Detail, "connection refused")
	}))
	p.up(t)

	// The fake LMS may have enrolled a learner whose answer was lost; what
	// counts is that the receiver records every item enrolled.
	waitUntil(t, "every item enrolled once the LMS is back", func() bool {
		_, items := attempts()
		return !slices.ContainsFunc(items, func(it store.ItemRecord) bool { return it.Status != enroll.ItemEnrolled })
	})
	as, _ := attempts()
	outcomes := map[enroll.Outcome]int{}
	for _, a := range as {
		outcomes[a.Outcome]++
	}
	if outcomes[enroll.OutcomeRetry] < 3 || outcomes[enroll.OutcomeFailed] != 0 {
		t.Errorf("attempt outcomes %v; want retries through the outage and no failure", outcomes)
	}
	t.Logf("attempt outcomes: %v", outcomes)
}
