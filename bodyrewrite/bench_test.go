package bodyrewrite

import "testing"

var benchOrder = []byte(`{"type":"direct","gateway":"CREDITCARD","order_id":"order-1001","currency":"EUR","amount":1000,
"description":"Test order","customer":{"locale":"nl_NL","browser":{"user_agent":"Mozilla/5.0","screen_width":1920}},
"payment_options":{"notification_url":"https://shop.example/webhook","redirect_url":"https://shop.example/ok","cancel_url":"https://shop.example/cancel"},
"gateway_info":{"card_number":"4111 1111 1111 1111","card_holder_name":"Jan Janssen","card_expiry_date":2812,"card_cvc":"123","cvc":"123","flexible_3d":null}}`)

func BenchmarkScanJSON(b *testing.B) {
	b.SetBytes(int64(len(benchOrder)))
	for b.Loop() {
		if _, err := ScanJSON(benchOrder); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkScanAndRewriteJSON(b *testing.B) {
	b.SetBytes(int64(len(benchOrder)))
	for b.Loop() {
		fs, _ := ScanJSON(benchOrder)
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
		if _, err := ScanForm(form); err != nil {
			b.Fatal(err)
		}
	}
}
