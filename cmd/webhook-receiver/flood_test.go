package main_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openedx-webhook-receiver/webhook-receiver/internal/edx/edxtest"
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
