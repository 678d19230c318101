package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRun starts the fake LMS as an operator would, then makes the calls
// the README shows with curl: a token, and a bulk enrollment with it.
func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	outR, outW := io.Pipe()
	var logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--listen", "127.0.0.1:0", "--client-id", "my-client", "--client-secret", "my-secret"}, outW, &logs)
		outW.Close()
	}()
	lines := make(chan string, 100)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(outR)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()

	settings := map[string]string{}
	for len(settings) < 3 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatalf("run ended before printing its settings: %v", <-done)
			}
			if k, v, ok := strings.Cut(strings.TrimPrefix(line, "export "), "="); ok && strings.HasPrefix(line, "export ") {
				settings[k] = v
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no settings printed")
		}
	}
	base := settings["WEBHOOK_RECEIVER_LMS_BASE_URL"]
	if settings["WEBHOOK_RECEIVER_OAUTH2_KEY"] != "my-client" || settings["WEBHOOK_RECEIVER_OAUTH2_SECRET"] != "my-secret" || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("printed settings: %v", settings)
	}

	// curl -d grant_type=client_credentials -d client_id=... -d client_secret=... -d token_type=jwt $BASE/oauth2/access_token
	status, body := post(t, base+"/oauth2/access_token", "", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {"my-client"}, "client_secret": {"my-secret"}, "token_type": {"jwt"},
	})
	var tok struct {
		AccessToken string `json:"access_token"`
		TokenType   string `json:"token_type"`
	}
	if err := json.Unmarshal(body, &tok); status != 200 || err != nil || tok.AccessToken == "" || tok.TokenType != "JWT" {
		t.Fatalf("token: %d %s (%v)", status, body, err)
	}

	// curl -H "Authorization: JWT $TOKEN" -d action=enroll -d courses=... -d identifiers=... $BASE/api/bulk_enroll/v1/bulk_enroll
	status, body = post(t, base+"/api/bulk_enroll/v1/bulk_enroll", "JWT "+tok.AccessToken, url.Values{
		"action": {"enroll"}, "courses": {"course-v1:edX+DemoX+Demo_Course"}, "identifiers": {"learner@example.com"},
		"auto_enroll": {"true"}, "email_students": {"false"},
	})
	var res struct {
		Courses map[string]struct {
			Results []struct {
				Identifier string `json:"identifier"`
				After      struct {
					Enrollment bool `json:"enrollment"`
				} `json:"after"`
			} `json:"results"`
		} `json:"courses"`
	}
	if err := json.Unmarshal(body, &res); status != 200 || err != nil {
		t.Fatalf("bulk enroll: %d %s (%v)", status, body, err)
	}
	if r := res.Courses["course-v1:edX+DemoX+Demo_Course"].Results; len(r) != 1 || r[0].Identifier != "learner@example.com" || !r[0].After.Enrollment {
		t.Errorf("bulk enroll answered %s", body)
	}
	// Without a token, the view answers 401 as the LMS does.
	if status, _ := post(t, base+"/api/bulk_enroll/v1/bulk_enroll", "", url.Values{}); status != 401 {
		t.Errorf("bulk enroll without a token: %d; want 401", status)
	}

	cancel()
	if err := <-done; err != nil {
		t.Errorf("run = %v", err)
	}
	var rest []string
	for line := range lines {
		rest = append(rest, line)
	}
	if len(rest) == 0 || rest[len(rest)-1] != "stopped" {
		t.Errorf("run did not say it stopped: %q", rest)
	}
	got := logs.String()
	for _, want := range []string{
		`msg="lms call" method=POST path=/oauth2/access_token status=200 grant_type=client_credentials client_id=my-client token_type=jwt`,
		`msg="lms call" method=POST path=/api/bulk_enroll/v1/bulk_enroll status=200 authorization="JWT ` + tok.AccessToken +
			`" action=enroll courses=course-v1:edX+DemoX+Demo_Course identifiers=learner@example.com auto_enroll=true email_students=false`,
		`path=/api/bulk_enroll/v1/bulk_enroll status=401`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %s:\n%s", want, got)
		}
	}
	if strings.Contains(got, "my-secret") {
		t.Errorf("the log holds the client secret:\n%s", got)
	}
}

func post(t *testing.T, target, authorization string, form url.Values) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestRunRefusesABusyAddress fails at once when the address is taken.
func TestRunRefusesABusyAddress(t *testing.T) {
	var out, logs bytes.Buffer
	first := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() { first <- run(ctx, []string{"--listen", "127.0.0.1:0"}, pw, io.Discard); pw.Close() }()
	sc := bufio.NewScanner(pr)
	var addr string
	for addr == "" && sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "export WEBHOOK_RECEIVER_LMS_BASE_URL=http://"); ok {
			addr = v
		}
	}
	go io.Copy(io.Discard, pr)
	if err := run(context.Background(), []string{"--listen", addr}, &out, &logs); err == nil || !strings.Contains(err.Error(), "address already in use") {
		t.Errorf("run on a busy address = %v", err)
	}
	cancel()
	if err := <-first; err != nil {
		t.Error(err)
	}
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
