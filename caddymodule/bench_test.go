package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkIngressVsPlain measures card_tokenize against plain reverse_proxy
// in the same run, same process, same app: every iteration sends one
// MultiSafepay order through a plain `reverse_proxy` site and one through a
// `card_tokenize` + `reverse_proxy` site (real Vault). It reports the mean
// latency of each and their ratio (x_plain). Run with:
//
//	scripts/test.sh -run '^$' -bench IngressVsPlain -benchtime 2000x ./caddymodule
func BenchmarkIngressVsPlain(b *testing.B) {
	for _, v := range []struct {
		name, cvc string
	}{
		{"pan", ""},        // dedupe hit: Transit hmac + KV read
		{"pan+cvc", "cvc"}, // + response-wrap + KV write per CVC
	} {
		b.Run(v.name, func(b *testing.B) { benchIngress(b, v.cvc != "") })
	}
}

func benchIngress(b *testing.B, withCVC bool) {
	b.Setenv("CARDPROXY_TEST_VAULT_TOKEN", vaultSrv(b).Token)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer app.Close()
	plain, card := freeAddr(b), freeAddr(b)
	upstream := strings.TrimPrefix(app.URL, "http://")
	runCaddy(b, globalOptions(vaultSrv(b).Addr, uniqueTenant(), "")+fmt.Sprintf(`
http://%s {
	reverse_proxy %s
}
http://%s {
	card_tokenize {
		pan gateway_info.card_number
		cvc gateway_info.card_cvc gateway_info.cvc
	}
	reverse_proxy %s
}
`, plain, upstream, card, upstream))

	body := mspOrder
	if !withCVC {
		body = strings.NewReplacer(`"card_cvc": "123"`, `"card_cvc": null`, `"cvc": "123"`, `"cvc": null`).Replace(mspOrder)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}, Timeout: 10 * time.Second}
	send := func(addr string) time.Duration {
		start := time.Now()
		resp, err := client.Post("http://"+addr+"/v1/json/orders", "application/json", strings.NewReader(body))
		if err != nil {
			b.Error(err)
			return 0
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			b.Errorf("%s: status %d", addr, resp.StatusCode)
		}
		return time.Since(start)
	}
	send(card) // first tokenization outside the timing (dedupe hits after)
	var plainNs, cardNs atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			plainNs.Add(int64(send(plain)))
			cardNs.Add(int64(send(card)))
		}
	})
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(plainNs.Load())/n, "plain-ns/req")
	b.ReportMetric(float64(cardNs.Load())/n, "tokenize-ns/req")
	b.ReportMetric(float64(cardNs.Load())/float64(plainNs.Load()), "x_plain")
}
