package caddymodule

import (
	"fmt"
	"math/rand"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Failing closed must not fail everything: what real shops and browsers send
// — analytics and session cookies, trace headers, platform checkout bodies
// with phone numbers, postcodes, nonces and order numbers — passes the
// ingress byte for byte.
func TestIngressPassesRealTraffic(t *testing.T) {
	hs := newHarness(t, nil)
	browser := map[string]string{
		"User-Agent":      "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.8078.73 Safari/537.36",
		"Accept":          "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
		"Accept-Language": "nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7",
		"Referer":         "https://shop.example/checkout/?step=2&order=100000123&utm_source=newsletter&gclid=Cj0KCQjw1234567890123456789",
		"Cookie": "_ga=GA1.1.1234567890.1700000000; _ga_ABCDEF1234=GS1.1.1700000000.3.1.1700000123.0.0.0; " +
			"_gid=GA1.2.987654321.1700000001; _fbp=fb.1.1700000000000.1234567890; _gcl_au=1.1.1234567890.1700000000; " +
			"PHPSESSID=k3v9a8d7f6g5h4j3k2l1m0n9b8; __stripe_mid=550e8400-e29b-41d4-a716-446655440000d1e2f3; " +
			"woocommerce_cart_hash=5d41402abc4b2a76b9719d911017c592; cf_clearance=3c9a1f0e2d8b7c6a5f4e3d2c1b0a9f8e-1700000000-0-150",
		"Traceparent":  "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		"X-Request-Id": "7d3f5e2a-1b4c-4d6e-8f9a-0b1c2d3e4f50",
	}
	bodies := []struct{ name, ct, body string }{
		{"woocommerce checkout form", "application/x-www-form-urlencoded",
			"billing_first_name=Jan&billing_last_name=Janssen&billing_company=&billing_country=NL&billing_address_1=Dorpsstraat+12&billing_postcode=1234+AB&billing_city=Utrecht&billing_phone=%2B31+6+12345678&billing_email=jan%40example.nl&order_comments=Bel+aan+bij+nummer+12&payment_method=multisafepay_creditcard&woocommerce-process-checkout-nonce=8f3a2b1c9d&_wp_http_referer=%2F%3Fwc-ajax%3Dupdate_order_review&shipping_method%5B0%5D=flat_rate%3A1"},
		{"magento payment-information", "application/json",
			`{"cartId":"q1w2e3r4t5y6u7i8o9p0","billingAddress":{"countryId":"NL","street":["Dorpsstraat 12"],"telephone":"+31 20 123 4567","postcode":"1234 AB","city":"Utrecht","firstname":"Jan","lastname":"Janssen","saveInAddressBook":null},"paymentMethod":{"method":"multisafepay_creditcard","po_number":null,"additional_data":{"payload":"","tokenize":false}},"email":"jan@example.nl","orderId":"000000123","grandTotal":"129.95","items":[{"sku":"24-MB01","qty":1,"price":34.00},{"sku":"WS12-XS-Blue","qty":2,"price":47.975}]}`},
		{"shopware order", "application/json",
			`{"customerComment":"","tos":"on","affiliateCode":null,"campaignCode":null,"orderNumber":"10045","lineItems":[{"id":"0189a7c3f1b27162a8f5e3c2d1b0a9f8","quantity":1}],"phone":"0031612345678"}`},
		{"multipart profile with photo", "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
			"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nJan Janssen\r\n" +
				"------WebKitFormBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"me.png\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\r\n" +
				"------WebKitFormBoundary7MA4YWxkTrZu0gW--\r\n"},
		{"text note", "text/plain", "Please deliver after 17:00, call +31 6 12345678. Order 100000123, invoice 2026-11-0042."},
		{"pspsim webhook", "application/json",
			`{"order_id":"demo-1795702349-2","transaction_id":"3f9a2b7c1d4e5f60","amount":1000,"currency":"EUR","status":"completed","payment_details":{"type":"VISA","last4":1111,"card_expiry_date":"3012"}}`},
	}
	for _, b := range bodies {
		t.Run(b.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/checkout?step=3&order=100000123", strings.NewReader(b.body))
			r.Header.Set("Content-Type", b.ct)
			for k, v := range browser {
				r.Header.Set(k, v)
			}
			w, app := hs.do(t, r)
			if w.Code != 200 || app.called != 1 || string(app.body) != b.body {
				t.Fatalf("refused or changed: %d %s", w.Code, w.Body)
			}
		})
	}
	// Session ids of random hex (a fixed seed, so the result is the same
	// every run): the letter-glue rule keeps hex cookies from tripping the
	// card-number and token-shape checks (preserving tokens in use: the
	// strictest setting).
	hs = newHarness(t, func(h *Tokenize) { h.FieldFormats = map[string]string{"legacy_pan": "preserve_last4"} })
	rng := rand.New(rand.NewSource(7))
	refused := 0
	for i := 0; i < 2000; i++ {
		id := fmt.Sprintf("%016x%016x%016x%016x", rng.Uint64(), rng.Uint64(), rng.Uint64(), rng.Uint64())
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "session="+id)
		if w, _ := hs.do(t, r); w.Code != 200 {
			refused++
		}
	}
	if refused > 0 {
		t.Errorf("%d of 2000 random 64-hex session cookies were refused", refused)
	}
}
