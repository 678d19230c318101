package shopifytest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// post sends a GraphQL request with the fake's token and decodes the answer.
func post(t *testing.T, s *Shop, token, op string, vars map[string]any) (*http.Response, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": "query " + op + " { orders(sortKey: UPDATED_AT) }", "variables": vars})
	req, err := http.NewRequest(http.MethodPost, s.URL()+"/admin/api/2026-10/graphql.json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("X-Shopify-Access-Token", token)
	}
	resp, err := s.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return resp, out
}

func TestUnauthorized(t *testing.T) {
	s := New(t)
	for _, token := range []string{"", "wrong"} {
		resp, out := post(t, s, token, "Orders", map[string]any{"first": 1})
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(out["errors"].(string), "Invalid API key or access token") {
			t.Errorf("token %q: %d %v, want 401", token, resp.StatusCode, out)
		}
	}
}

func TestThrottledAnswer(t *testing.T) {
	s := New(t)
	s.SetThrottle(100, 10)
	s.Drain()
	resp, out := post(t, s, Token, "Orders", map[string]any{"first": 10})
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	errs := out["errors"].([]any)
	if code := errs[0].(map[string]any)["extensions"].(map[string]any)["code"]; code != "THROTTLED" {
		t.Errorf("code %v, want THROTTLED", code)
	}
	cost := out["extensions"].(map[string]any)["cost"].(map[string]any)
	status := cost["throttleStatus"].(map[string]any)
	if cost["requestedQueryCost"] != 22.0 || status["maximumAvailable"] != 100.0 || status["currentlyAvailable"] != 0.0 || status["restoreRate"] != 10.0 {
		t.Errorf("cost %v", cost)
	}
	s.Advance(3 * time.Second) // 30 points back: enough for 22
	_, out = post(t, s, Token, "Orders", map[string]any{"first": 10})
	if out["errors"] != nil || out["data"] == nil {
		t.Errorf("after the bucket refilled: %v", out)
	}
}

func TestAnswer429(t *testing.T) {
	s := New(t)
	s.Answer429(1, 4*time.Second)
	resp, _ := post(t, s, Token, "Orders", map[string]any{"first": 1})
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") != "4" {
		t.Errorf("%d Retry-After %q, want 429 with 4", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if resp, _ := post(t, s, Token, "Orders", map[string]any{"first": 1}); resp.StatusCode != http.StatusOK {
		t.Errorf("the next request: %d, want 200", resp.StatusCode)
	}
}

func TestOrdersPaging(t *testing.T) {
	s := New(t)
	var ids []int64
	for range 5 {
		ids = append(ids, s.AddOrder(Order{}).ID)
		s.Advance(time.Second)
	}
	s.Update(ids[0], func(*Order) {}) // moves to the end
	var got []string
	vars := map[string]any{"first": 2}
	for {
		_, out := post(t, s, Token, "Orders", vars)
		orders := out["data"].(map[string]any)["orders"].(map[string]any)
		for _, n := range orders["nodes"].([]any) {
			got = append(got, n.(map[string]any)["legacyResourceId"].(string))
		}
		info := orders["pageInfo"].(map[string]any)
		if info["hasNextPage"] != true {
			break
		}
		vars["after"] = info["endCursor"]
	}
	want := []int64{ids[1], ids[2], ids[3], ids[4], ids[0]}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != strconv.FormatInt(want[i], 10) {
			t.Errorf("got %v, want %v", got, want)
			break
		}
	}
}

func TestUnknownOperation(t *testing.T) {
	s := New(t)
	_, out := post(t, s, Token, "Products", nil)
	if out["errors"] == nil {
		t.Errorf("an unknown operation answered %v", out)
	}
}
