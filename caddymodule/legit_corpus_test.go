package caddymodule

// False positives, from the third adversarial review: realistic legitimate
// traffic, generated with fixed seeds; every refusal (4xx) and every silent
// change of a non-card value is counted per class, and there must be none.
// Run: go test ./caddymodule -count=1 -run TestLegitCorpus -v

import (
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/ingress"
)

func TestLegitCorpus(t *testing.T) {
	hs := newHarness(t, nil)
	const perClass = 400
	total, totalBad := 0, 0
	failed := false
	for ci, c := range fpClasses {
		rng := rand.New(rand.NewSource(int64(1000 + ci)))
		codes := map[string]int{}
		var example string
		refused, altered := 0, 0
		for i := 0; i < perClass; i++ {
			fc := c.gen(rng)
			target := "/checkout"
			if fc.query != "" {
				target += "?" + fc.query
			}
			method := http.MethodPost
			var r *http.Request
			if fc.body == "" {
				method = http.MethodGet
				r = httptest.NewRequest(method, target, nil)
			} else {
				r = httptest.NewRequest(method, target, strings.NewReader(fc.body))
				r.Header.Set("Content-Type", fc.ct)
			}
			for k, v := range fc.header {
				r.Header.Set(k, v)
			}
			w, app := hs.do(t, r)
			switch {
			case w.Code >= 400:
				refused++
				var e struct{ Error, Message string }
				_ = json.Unmarshal(w.Body.Bytes(), &e)
				codes[fmt.Sprintf("%d %s: %s", w.Code, e.Error, e.Message)]++
				if example == "" {
					example = fc.body + fc.query
					if fc.header != nil {
						example = culprit(fc.header)
					}
				}
			case fc.body != "" && string(app.body) != fc.body:
				altered++
				codes["200 but body altered (auto-detect tokenized a non-card)"]++
				if example == "" {
					example = fc.body
				}
			}
		}
		total += perClass
		totalBad += refused + altered
		t.Logf("%-75s refused %3d/%d (%.1f%%), altered %3d", c.name, refused, perClass, 100*float64(refused)/perClass, altered)
		var ks []string
		for k := range codes {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			t.Logf("      %4d × %s", codes[k], k)
		}
		if example != "" {
			failed = true
			if len(example) > 300 {
				example = example[:300] + "…"
			}
			t.Logf("      e.g. %s", example)
		}
	}
	t.Logf("TOTAL refused or altered: %d/%d (%.2f%%)", totalBad, total, 100*float64(totalBad)/float64(total))
	if failed {
		t.Error("legitimate traffic refused or altered")
	}
}

// culprit finds the header (and for Cookie, the cookie) that trips the check.
func culprit(h map[string]string) string {
	for k, v := range h {
		if k == "Cookie" {
			for _, c := range strings.Split(v, "; ") {
				if ingress.CheckHeaders(http.Header{"Cookie": {c}}, false) != nil {
					return "Cookie: " + c
				}
			}
		}
		if ingress.CheckHeaders(http.Header{k: {v}}, false) != nil {
			return k + ": " + v
		}
	}
	return "?"
}
