package ingress

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// order16K is a MultiSafepay-style order of about 16 KiB: one card, a CVC,
// and a shopping cart of card-free items.
func order16K() string {
	var items []string
	for i := 0; len(strings.Join(items, ",")) < 15500; i++ {
		items = append(items, fmt.Sprintf(`{"name":"Item %d, blue, size M","unit_price":"%d.95","quantity":%d,"merchant_item_id":"SKU-%06d","tax_table_selector":"BTW21","weight":{"unit":"KG","value":%d}}`, i, 10+i%90, 1+i%3, 100000+i, i%5))
	}
	return `{"type":"direct","order_id":"o-123","currency":"EUR","amount":12995,"description":"Order 123",` +
		`"gateway_info":{"card_number":"4111111111111111","card_cvc":"123","card_expiry_date":"3012","card_holder_name":"J Doe"},` +
		`"shopping_cart":{"items":[` + strings.Join(items, ",") + `]}}`
}

// BenchmarkCheckApply16K: scan + plan + apply of a 16 KiB JSON order on one
// core (go test -run '^$' -bench CheckApply -benchmem -cpu 1 ./ingress).
// Tokens are made up here (Exchange's Vault time is not part of it).
func BenchmarkCheckApply16K(b *testing.B) {
	body := order16K()
	c := testConfig(nil)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/checkout", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		q, rerr := c.Check(r)
		if rerr != nil {
			b.Fatal(rerr)
		}
		if rerr := q.Apply(fakeTokens(q.Plan)); rerr != nil {
			b.Fatal(rerr)
		}
		if out, _ := io.ReadAll(r.Body); len(out) < len(body)/2 {
			b.Fatal("short body")
		}
	}
}
