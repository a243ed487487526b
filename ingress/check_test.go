package ingress

import (
	"encoding/base64"
	"fmt"
	"math/rand"
	"net/http"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/refusal"
)

// A1b. The rate over all _cfuvid timestamps of Nov 2025 – Nov 2026.
func TestAdv3CfuvidRate(t *testing.T) {
	rng := rand.New(rand.NewSource(3))
	bad := 0
	const n = 20000
	for i := 0; i < n; i++ {
		ms := 1761955200000 + rng.Int63n(365*86400000)
		if CheckHeaders(http.Header{"Cookie": {fmt.Sprintf("_cfuvid=%s-%d-0.0.1.1-604800000", alnum(rng, 43), ms)}}, false) != nil {
			bad++
		}
	}
	t.Logf("_cfuvid cookies refused: %d/%d (%.2f%%)", bad, n, 100*float64(bad)/n)
	if bad > 0 {
		t.Fail()
	}
}

// alnum is n random letters and digits (a _cfuvid's random part).
func alnum(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	rng.Read(b)
	return strings.NewReplacer("-", "x", "_", "y").Replace(base64.RawURLEncoding.EncodeToString(b))[:n]
}

// TestCheckHeadersOrder: with two offending headers, the refusal does not
// depend on map order: headers are checked in name order.
func TestCheckHeadersOrder(t *testing.T) {
	h := http.Header{"X-Payment-Card": {"2200 0000 0000 0004"}, "X-Card-Cvc": {"968"}}
	for range 50 {
		if rerr := CheckHeaders(h, false); rerr == nil || rerr.Code != refusal.CardDataInHeader {
			t.Fatalf("got %v", rerr)
		}
	}
}
