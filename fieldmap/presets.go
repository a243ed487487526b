package fieldmap

// Preset is the field map of one PSP's card request, as data. Users add
// fields with the handler's own pan/cvc/expiry/… options.
type Preset struct {
	// Fields: a single-field Expiry is formatted ExpiryFormat.
	Fields Set
	// ExpiryFormat for Expiry fields: "yymm" (MultiSafepay).
	ExpiryFormat string
	// YearDigits for ExpiryYear fields: 4 (Adyen, Checkout.com, Stripe).
	YearDigits int
	// APIKeyHeader is how the PSP takes its API key when cardproxy injects
	// it: a header name, or "bearer" for Authorization: Bearer.
	APIKeyHeader string
}

// Presets by name. Paths are JSON paths or form names (see card_tokenize).
var Presets = map[string]Preset{
	// MultiSafepay JSON API, POST /v1/json/orders, type "direct".
	"multisafepay": {
		Fields: Set{
			PAN:    []string{"gateway_info.card_number"},
			CVC:    []string{"gateway_info.card_cvc", "gateway_info.cvc"},
			Expiry: []string{"gateway_info.card_expiry_date"},
			Holder: []string{"gateway_info.card_holder_name"},
		},
		ExpiryFormat: "yymm",
		APIKeyHeader: "api_key",
	},
	// Adyen Checkout API /v71/payments (paymentMethod.*) and the classic
	// API /authorise (card.*).
	"adyen": {
		Fields: Set{
			PAN:         []string{"paymentMethod.number", "card.number"},
			CVC:         []string{"paymentMethod.cvc", "card.cvc"},
			ExpiryMonth: []string{"paymentMethod.expiryMonth", "card.expiryMonth"},
			ExpiryYear:  []string{"paymentMethod.expiryYear", "card.expiryYear"},
			Holder:      []string{"paymentMethod.holderName", "card.holderName"},
		},
		YearDigits:   4,
		APIKeyHeader: "X-API-Key",
	},
	// Stripe, form-encoded: /v1/payment_methods, /v1/tokens and
	// PaymentIntents' payment_method_data.
	"stripe": {
		Fields: Set{
			PAN:         []string{"card[number]", "payment_method_data[card][number]"},
			CVC:         []string{"card[cvc]", "payment_method_data[card][cvc]"},
			ExpiryMonth: []string{"card[exp_month]", "payment_method_data[card][exp_month]"},
			ExpiryYear:  []string{"card[exp_year]", "payment_method_data[card][exp_year]"},
			Holder:      []string{"billing_details[name]", "payment_method_data[billing_details][name]"},
		},
		YearDigits:   4,
		APIKeyHeader: "bearer",
	},
	// Checkout.com POST /payments, source.type "card".
	"checkout": {
		Fields: Set{
			PAN:         []string{"source.number"},
			CVC:         []string{"source.cvv"},
			ExpiryMonth: []string{"source.expiry_month"},
			ExpiryYear:  []string{"source.expiry_year"},
			Holder:      []string{"source.name"},
		},
		YearDigits:   4,
		APIKeyHeader: "bearer",
	},
}
