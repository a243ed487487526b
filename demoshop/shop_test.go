package demoshop

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/msp"
)

func TestParseAmount(t *testing.T) {
	for in, want := range map[string]int{"25": 2500, "25.5": 2550, "25.00": 2500, "0.99": 99, " 10,50 ": 1050} {
		if got, err := parseAmount(in); err != nil || got != want {
			t.Errorf("parseAmount(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "abc", "-5", "0", "1.234", "1e3"} {
		if _, err := parseAmount(in); err == nil {
			t.Errorf("parseAmount(%q) accepted", in)
		}
	}
}

func TestWebhookSignature(t *testing.T) {
	s, err := New(Config{PublicURL: "http://shop", APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"order_id":"o1","status":"completed"}`)
	send := func(auth string, body []byte) int {
		r := httptest.NewRequest(http.MethodPost, "/webhook", bytes.NewReader(body))
		r.Header.Set(msp.AuthHeader, auth)
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		return w.Code
	}
	if code := send(msp.Sign("k", time.Now().Unix(), body), []byte(`{"order_id":"o1","status":"declined"}`)); code != http.StatusForbidden {
		t.Fatalf("tampered webhook: %d", code)
	}
	if _, ok := s.WebhookStatus("o1"); ok {
		t.Fatal("tampered webhook recorded")
	}
	if code := send(msp.Sign("k", time.Now().Unix(), body), body); code != 200 {
		t.Fatalf("signed webhook: %d", code)
	}
	if st, ok := s.WebhookStatus("o1"); !ok || st != "completed" {
		t.Fatalf("status %q %v", st, ok)
	}
}
