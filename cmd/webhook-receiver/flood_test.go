package main_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/enroll"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store"
	"github.com/openedx-webhook-receiver/webhook-receiver/internal/store/storetest"
)

// memoryOf reads a process's resident memory, now and at its peak, in bytes.
func memoryOf(t *testing.T, pid int) (rss, peak int64) {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc to read memory from: %v", err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		name, value, ok := strings.Cut(line, ":")
		if !ok || (name != "VmRSS" && name != "VmHWM") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		if name == "VmRSS" {
			rss = kb << 10
		} else {
			peak = kb << 10
		}
	}
	return rss, peak
}

// zeros is an endless body.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// 400 connections each sending a 5 MiB body, half without a shop header
// (answered from the headers, never read), half for the shop with a forged
// signature (read within WEBHOOK_RECEIVER_MAX_INFLIGHT_BYTES, the rest
// answered 503), while signed orders keep coming: the process stays small
// and every signed order is stored and enrolled.
func TestLargeBodiesKeepMemoryBounded(t *testing.T) {
	bin := build(t)
	lms := edxtest.New(t)
	p := start(t, bin, append(serviceEnv(t, lms, storetest.URL(t, store.SQLite)), "WEBHOOK_RECEIVER_LOG_LEVEL=warn"))
	const bodySize = 5 << 20
	client := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 0, DisableKeepAlives: true}}
	var (
		mu       sync.Mutex
		outcomes = map[string]int{}
		flood    sync.WaitGroup
	)
	for i := range 400 {
		flood.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, p.url+"/webhooks/shopify/order/create", io.LimitReader(zeros{}, bodySize))
			req.ContentLength = bodySize
			kind := "no shop header"
			if i%2 == 1 {
				kind = "forged"
				req.Header.Set("X-Shopify-Shop-Domain", "bin.myshopify.com")
				req.Header.Set("X-Shopify-Hmac-Sha256", "Zm9yZ2Vk")
			}
			if i%4 >= 2 {
				kind += ", chunked"
				req.ContentLength = -1
			}
			outcome := "cut off"
			if resp, err := client.Do(req); err == nil {
				resp.Body.Close()
				outcome = strconv.Itoa(resp.StatusCode)
				if resp.StatusCode == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") == "" {
					outcome += " without Retry-After"
				}
			}
			mu.Lock()
			outcomes[kind+": "+outcome]++
			mu.Unlock()
		})
	}
	var emails []string
	for i := range 40 {
		emails = append(emails, fmt.Sprintf("mem%d@example.com", i))
		if got := p.postOrder(t, 5000+i, emails[i]); got != 200 {
			t.Errorf("signed order %d during the flood: %d", i, got)
		}
	}
	flood.Wait()
	waitEnrolled(t, lms, emails, time.Minute)
	rss, peak := memoryOf(t, p.cmd.Process.Pid)
	t.Logf("RSS %d MiB, peak %d MiB; outcomes: %v", rss>>20, peak>>20, outcomes)
	if peak > 150<<20 {
		t.Errorf("peak RSS %d MiB; want under 150 MiB", peak>>20)
	}
	for outcome, n := range outcomes {
		kind, status, _ := strings.Cut(outcome, ": ")
		ok := status == "cut off" || (strings.HasPrefix(kind, "no shop header") && status == "400") ||
			(strings.HasPrefix(kind, "forged") && (status == "403" || status == "503"))
		if !ok {
			t.Errorf("%d requests: %s", n, outcome)
		}
	}
}

// fileSize is the size of a file, 0 when it does not exist.
func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// stop ends the service as SIGTERM does and waits for it to exit.
func (p *process) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	if err := p.cmd.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, p.logs)
	}
}

// 50,000 requests with a forged signature from one address, while signed
// orders keep coming: the database grows by less than 1 MB and the log by
// less than 100 lines, every signed order is stored and enrolled, and the
// flood is all accounted for: its first rejections stored whole, the rest
// counted.
func TestForgedFloodLeavesDiskAndLogSmall(t *testing.T) {
	bin := build(t)
	lms := edxtest.New(t)
	path := filepath.Join(t.TempDir(), "flood.db")
	env := append(serviceEnv(t, lms, "sqlite:"+path), "WEBHOOK_RECEIVER_LOG_LEVEL=warn")
	size := func() int64 { return fileSize(t, path) + fileSize(t, path+"-wal") }

	// The schema, and one order, before measuring.
	p := start(t, bin, env)
	if got := p.postOrder(t, 1, "first@example.com"); got != 200 {
		t.Fatalf("first order: %d", got)
	}
	waitEnrolled(t, lms, []string{"first@example.com"}, time.Minute)
	p.stop(t)
	before := size()

	p = start(t, bin, env)
	const forged = 50000
	body := `{"id": 666, "line_items": [{"id": 1, "sku": "course-v1:Org+Bin+1", "properties": [{"name": "email", "value": "x@example.com"}]}]}`
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}}
	var (
		next    atomic.Int64
		answers sync.Map // status → *atomic.Int64
		flood   sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const signed = 50
	milestones := make(chan struct{}, signed) // one each 1,000 forged requests: a signed order goes then
	for range 16 {
		flood.Go(func() {
			for n := next.Add(1); n <= forged && ctx.Err() == nil; n = next.Add(1) {
				if n%(forged/signed) == 1 {
					milestones <- struct{}{}
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodPost, p.url+"/webhooks/shopify/order/create", strings.NewReader(body))
				req.Header.Set("X-Shopify-Shop-Domain", "bin.myshopify.com")
				req.Header.Set("X-Shopify-Hmac-Sha256", "Zm9yZ2VkIHNpZ25hdHVyZQ==")
				status := "error"
				if resp, err := client.Do(req); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = strconv.Itoa(resp.StatusCode)
				}
				n, _ := answers.LoadOrStore(status, new(atomic.Int64))
				n.(*atomic.Int64).Add(1)
			}
		})
	}
	var emails []string
	var took []time.Duration
	for i := range signed {
		<-milestones
		emails = append(emails, fmt.Sprintf("flood%d@example.com", i))
		start := time.Now()
		if got := p.postOrder(t, 1000+i, emails[i]); got != 200 {
			t.Errorf("signed order %d during the flood: %d", i, got)
		}
		took = append(took, time.Since(start))
	}
	flood.Wait()
	waitEnrolled(t, lms, emails, time.Minute)
	p.stop(t)

	got := map[string]int64{}
	answers.Range(func(k, v any) bool { got[k.(string)] = v.(*atomic.Int64).Load(); return true })
	if got["403"] != forged {
		t.Errorf("answers to the forged requests: %v; want %d × 403", got, forged)
	}
	growth := size() - before
	logLines := strings.Split(strings.TrimSpace(p.logs.String()), "\n")
	slices.Sort(took)
	t.Logf("%d forged requests, %d signed orders (median %v, slowest %v): database +%d bytes, %d log lines",
		forged, len(emails), took[len(took)/2], took[len(took)-1], growth, len(logLines))
	if growth >= 1<<20 {
		t.Errorf("the database grew by %d bytes; want less than 1 MB", growth)
	}
	if len(logLines) >= 100 {
		t.Errorf("%d log lines; want fewer than 100:\n%s", len(logLines), p.logs)
	}
	if !strings.Contains(p.logs.String(), "webhook rejections folded") {
		t.Errorf("no summary line for the counted rejections:\n%s", p.logs)
	}

	db, err := store.Open(context.Background(), "sqlite:"+path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ds, err := db.Deliveries(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	var requests, whole int64
	for _, d := range ds {
		if d.Status == http.StatusForbidden {
			requests += max(d.Folded, 1)
			if d.Folded == 0 {
				whole++
			}
		}
	}
	if requests != forged || whole > 30 {
		t.Errorf("stored %d whole rejections, %d requests in all; want a few whole, %d in all", whole, requests, forged)
	}
	for i := range emails {
		o, err := db.FindOrder(context.Background(), enroll.Shopify, "bin.myshopify.com", int64(1000+i))
		if err != nil || len(o.Items) != 1 || o.Items[0].Status != enroll.ItemEnrolled {
			t.Errorf("signed order %d: %+v, %v", 1000+i, o, err)
		}
	}
}
