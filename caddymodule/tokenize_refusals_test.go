package caddymodule

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/token"
)

func TestRefusals(t *testing.T) {
	hs := newHarness(t, func(h *Tokenize) {
		h.MaxBody = 2048
		h.FieldFormats = map[string]string{"legacy_pan": "preserve_last4"} // preserving tokens in use
	})
	realTok, err := hs.store.Tokenize(context.Background(), hs.tn, token.FormatOpaque, []card.Card{{PAN: "5500000000000004"}})
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write(bytes.Repeat([]byte(`{"a":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`), 1000))
	_ = zw.Close()
	cases := []struct {
		name, ct, enc, body string
		chunked             bool
		status              int
		code                string
	}{
		{"token in pan field", "application/json", "", `{"card_number":"` + realTok[0].Token + `"}`, false, 400, "token_not_allowed"},
		{"token in any field", "application/x-www-form-urlencoded", "", "note=" + realTok[0].Token, false, 400, "token_not_allowed"},
		{"cvc token replayed", "application/json", "", `{"cvc":"cp_cvc_AAAAAAAAAAAAAAAAAAAAAAAA"}`, false, 400, "token_not_allowed"},
		{"preserving token in pan field", "application/json", "", `{"card_number":"0123456789011111"}`, false, 400, "token_not_allowed"},
		{"invalid pan", "application/json", "", `{"card_number":"4111111111111112"}`, false, 400, "invalid_card_number"},
		{"letters in pan", "application/json", "", `{"card_number":"4111-abcd"}`, false, 400, "invalid_card_number"},
		{"invalid cvc", "application/json", "", `{"card_number":"4111111111111111","cvc":"12"}`, false, 400, "invalid_cvc"},
		{"truncated json", "application/json", "", `{"card_number":`, false, 400, "malformed_body"},
		{"bad form escape", "application/x-www-form-urlencoded", "", "card_number=%zz", false, 400, "malformed_body"},
		{"multipart without boundary", "multipart/form-data", "", "x", false, 400, "malformed_content_type"},
		{"too large", "application/json", "", `{"a":"` + strings.Repeat("x", 3000) + `"}`, false, 413, "body_too_large"},
		{"too large chunked", "application/json", "", `{"a":"` + strings.Repeat("x", 3000) + `"}`, true, 413, "body_too_large"},
		{"gzip bomb", "application/json", "gzip", gz.String(), false, 413, "body_too_large"},
		{"not gzip", "application/json", "gzip", "plain", false, 400, "malformed_body"},
		{"brotli", "application/json", "br", "xxxx", false, 415, "unsupported_content_encoding"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/x", strings.NewReader(c.body))
			r.Header.Set("Content-Type", c.ct)
			if c.enc != "" {
				r.Header.Set("Content-Encoding", c.enc)
			}
			if c.chunked {
				r.ContentLength = -1
				r.Body = io.NopCloser(strings.NewReader(c.body))
			}
			w, app := hs.do(t, r)
			if w.Code != c.status || app.called != 0 {
				t.Fatalf("status %d (want %d), app called %d: %s", w.Code, c.status, app.called, w.Body)
			}
			var e struct{ Error, Message string }
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != c.code || e.Message == "" {
				t.Fatalf("error body %s", w.Body)
			}
			if w.Header().Get("Content-Type") != "application/json" {
				t.Errorf("content type %q", w.Header().Get("Content-Type"))
			}
			noCardData(t, "error body", w.Body.Bytes(), "4111111111111112", "4111111111111111", realTok[0].Token)
		})
	}
	hs.logsClean(t, "4111111111111112", "4111111111111111")
}

func TestGzipBody(t *testing.T) {
	hs := newHarness(t, nil)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, _ = zw.Write([]byte(`{"card_number":"4111111111111111","cvc":"123"}`))
	_ = zw.Close()
	r := httptest.NewRequest(http.MethodPost, "/x", bytes.NewReader(gz.Bytes()))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Content-Encoding", "gzip")
	w, app := hs.do(t, r)
	if w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if app.header.Get("Content-Encoding") != "" || !bytes.HasPrefix(app.body, []byte(`{"card_number":"cp_pan_`)) {
		t.Fatalf("app got %q with encoding %q", app.body, app.header.Get("Content-Encoding"))
	}
}

func TestPassThrough(t *testing.T) {
	hs := newHarness(t, nil)
	t.Run("GET", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodGet, "/ok?transactionid=4111111111111111", nil)
		r.Header.Set("Cardproxy-Card-Token", "forged")
		w, app := hs.do(t, r)
		if w.Code != 200 || app.called != 1 || app.header.Get("Cardproxy-Card-Token") != "" {
			t.Fatalf("GET: %d %v", w.Code, app.header)
		}
	})
	t.Run("other content type without card data: bytes unchanged", func(t *testing.T) {
		body := "raw bytes, order 1001, no card"
		r := httptest.NewRequest(http.MethodPost, "/upload", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/octet-stream")
		w, app := hs.do(t, r)
		if w.Code != 200 || string(app.body) != body {
			t.Fatalf("status %d, app got %q", w.Code, app.body)
		}
	})
	t.Run("no card data: bytes unchanged", func(t *testing.T) {
		body := "transactionid=order-1001&PaRes=eJzVWNmSo0iyfS%2B7v%3D%3D&MD=1234567890123"
		r := httptest.NewRequest(http.MethodPost, "/3ds-return", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		_, app := hs.do(t, r)
		if string(app.body) != body || app.header.Get("Cardproxy-Tokenized") != "" {
			t.Fatalf("body changed: %q", app.body)
		}
	})
}

func TestVaultDownFailsClosed(t *testing.T) {
	dead, err := vaulttestStart()
	if err != nil {
		t.Fatal(err)
	}
	hs := newHarnessAt(t, dead.Addr, dead.Token, nil)
	dead.Stop()
	r := httptest.NewRequest(http.MethodPost, "/v1/json/orders", strings.NewReader(mspOrder))
	r.Header.Set("Content-Type", "application/json")
	w, app := hs.do(t, r)
	if w.Code != http.StatusServiceUnavailable || app.called != 0 {
		t.Fatalf("status %d, app called %d", w.Code, app.called)
	}
	var e struct{ Error, Message string }
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Error != "vault_unavailable" {
		t.Fatalf("body %s", w.Body)
	}
	noCardData(t, "503 body", w.Body.Bytes(), "4111", `"123"`)
	hs.logsClean(t, "4111111111111111", "4111 1111 1111 1111")
}

func TestLogsMaskCardNumbersInURI(t *testing.T) {
	hs := newHarness(t, nil)
	r := httptest.NewRequest(http.MethodPost, "/checkout/4111111111111111?card=4111111111111111", strings.NewReader(`{"card_number":"x"}`))
	r.Header.Set("Content-Type", "application/json")
	w, _ := hs.do(t, r)
	if w.Code != 400 {
		t.Fatalf("status %d", w.Code)
	}
	hs.logsClean(t, "4111111111111111")
	if e := hs.logs.FilterMessage("card request refused").All(); len(e) != 1 || e[0].ContextMap()["uri"] != "/checkout/************1111?…" {
		t.Fatalf("log: %v", e)
	}
}
