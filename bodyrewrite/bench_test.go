package bodyrewrite

import (
	"errors"
	"strings"
	"testing"
)

var benchOrder = []byte(`{"type":"direct","gateway":"CREDITCARD","order_id":"order-1001","currency":"EUR","amount":1000,
"description":"Test order","customer":{"locale":"nl_NL","browser":{"user_agent":"Mozilla/5.0","screen_width":1920}},
"payment_options":{"notification_url":"https://shop.example/webhook","redirect_url":"https://shop.example/ok","cancel_url":"https://shop.example/cancel"},
"gateway_info":{"card_number":"4111 1111 1111 1111","card_holder_name":"Jan Janssen","card_expiry_date":2812,"card_cvc":"123","cvc":"123","flexible_3d":null}}`)

func BenchmarkScanJSON(b *testing.B) {
	b.SetBytes(int64(len(benchOrder)))
	for b.Loop() {
		if _, err := ScanJSON(benchOrder, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanAndRewriteJSON(b *testing.B) {
	b.SetBytes(int64(len(benchOrder)))
	for b.Loop() {
		fs, _ := ScanJSON(benchOrder, DefaultLimits)
		var edits []Edit
		for i := range fs {
			if fs[i].Name() == "gateway_info.card_number" {
				edits = append(edits, Edit{Field: &fs[i], Raw: fs[i].Encode("cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA")})
			}
		}
		_ = Apply(benchOrder, edits)
	}
}

func BenchmarkScanForm(b *testing.B) {
	form := []byte("amount=10.00&payment%5Bcc_number%5D=4111+1111+1111+1111&payment%5Bcc_cid%5D=123&payment[cc_exp_month]=07&payment[cc_exp_year]=2029&note=hello")
	b.SetBytes(int64(len(form)))
	for b.Loop() {
		if _, err := ScanForm(form, DefaultLimits); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanHostileJSON: 1 MiB of JSON nested 127 deep (what a ~1 KB gzip
// body decodes to) is refused at the depth limit; before the limits it cost
// 1.1 GB and 1.6 s per scan.
func BenchmarkScanHostileJSON(b *testing.B) {
	inner := strings.Repeat(`"x",`, (1<<20)/4-300) + `"x"`
	body := []byte(strings.Repeat("[", 127) + inner + strings.Repeat("]", 127))
	b.SetBytes(int64(len(body)))
	for i := 0; i < b.N; i++ {
		if _, err := ScanJSON(body, DefaultLimits); !errors.Is(err, ErrLimit) {
			b.Fatal(err)
		}
	}
}
