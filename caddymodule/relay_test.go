package caddymodule

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"go.uber.org/zap"
)

// A 3-D Secure form the PSP filled with card data (reflected from a field
// of the request) is masked before it is stored; the relay page is served
// exactly once under parallel GETs, and HEAD does not use it up.
func TestRelayMaskedAndServedOnce(t *testing.T) {
	const pan = "5555555555554444"
	answer := `{"resultCode":"RedirectShopper","action":{"type":"redirect","method":"POST","url":"https://acs.example/3ds",
"data":{"PaReq":"BQABAgA","MD":"md-1","TermUrl":"https://shop.example/return?card=` + pan + `"}}}`
	cap := &capture{answer: answer}
	s, ca := tlsServer(t, cap)
	e := newEgress(t, s.URL, ca, func(d *Detokenize) {
		d.Preset = "adyen"
		d.RelayURL = "https://shop.example/3ds/"
	})
	panTok, _ := e.tokens(t, pan, "03/30", "", "")
	body := `{"paymentMethod":{"type":"scheme","number":"` + panTok + `"},"returnUrl":"https://shop.example/return"}`
	r := httptest.NewRequest(http.MethodPost, "/v71/payments", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	w := e.do(t, r)
	var resp struct{ Action map[string]string }
	if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil || !strings.Contains(resp.Action["url"], "/3ds/cp_3ds_") {
		t.Fatalf("not relayed: %d %s", w.Code, w.Body)
	}
	u, _ := url.Parse(resp.Action["url"])
	relay := &ThreeDSRelay{store: e.store, tenant: e.tn, logger: zap.NewNop()}
	serve := func(method string) *httptest.ResponseRecorder {
		rw := httptest.NewRecorder()
		if err := relay.ServeHTTP(rw, httptest.NewRequest(method, u.Path, nil), nil); err != nil {
			t.Error(err)
		}
		return rw
	}
	for range 2 {
		if rw := serve(http.MethodHead); rw.Code != 200 || rw.Body.Len() != 0 {
			t.Fatalf("HEAD: %d %q", rw.Code, rw.Body)
		}
	}
	var mu sync.Mutex
	var pages []string
	var wg sync.WaitGroup
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if rw := serve(http.MethodGet); rw.Code == 200 {
				mu.Lock()
				pages = append(pages, rw.Body.String())
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(pages) != 1 {
		t.Fatalf("relay served %d times under parallel GETs", len(pages))
	}
	if strings.Contains(pages[0], pan) || !strings.Contains(pages[0], "************4444") || !strings.Contains(pages[0], `name="PaReq" value="BQABAgA"`) {
		t.Fatalf("relay page:\n%s", pages[0])
	}
	if rw := serve(http.MethodHead); rw.Code != 404 {
		t.Fatalf("HEAD after use: %d", rw.Code)
	}
}
