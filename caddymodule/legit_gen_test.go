package caddymodule

// Generators of realistic legitimate traffic for legit_corpus_test.go (from
// the third adversarial review, part A: false positives).

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand"
	"net/url"
	"strings"
)

func digits(rng *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + rng.Intn(10))
	}
	return string(b)
}

func hexs(rng *rand.Rand, n int) string {
	const h = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = h[rng.Intn(16)]
	}
	return string(b)
}

func alnum(rng *rand.Rand, n int) string {
	const a = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = a[rng.Intn(len(a))]
	}
	return string(b)
}

func uuid4(rng *rand.Rand) string {
	h := hexs(rng, 32)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + string("89ab"[rng.Intn(4)]) + h[17:20] + "-" + h[20:]
}

// iban builds a valid IBAN (mod 97) for a country with an all-digit BBAN.
func iban(rng *rand.Rand, cc string, bbanDigits int) string {
	bban := digits(rng, bbanDigits)
	conv := func(s string) string {
		var b strings.Builder
		for _, c := range s {
			if c >= 'A' && c <= 'Z' {
				fmt.Fprintf(&b, "%d", c-'A'+10)
			} else {
				b.WriteRune(c)
			}
		}
		return b.String()
	}
	n, _ := new(big.Int).SetString(conv(bban+cc+"00"), 10)
	chk := 98 - new(big.Int).Mod(n, big.NewInt(97)).Int64()
	return fmt.Sprintf("%s%02d%s", cc, chk, bban)
}

func grouped(s string) string { // IBAN print format: groups of 4
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

func ean13(rng *rand.Rand, prefix string) string {
	s := prefix + digits(rng, 12-len(prefix))
	sum := 0
	for i, c := range s {
		d := int(c - '0')
		if i%2 == 1 {
			d *= 3
		}
		sum += d
	}
	return s + fmt.Sprint((10-sum%10)%10)
}

func jsonStr(s string) string { b, _ := json.Marshal(s); return string(b) }

type fpCase struct {
	ct, body string
	query    string
	header   map[string]string
}

type fpClass struct {
	name string
	gen  func(rng *rand.Rand) fpCase
}

func tsMs(rng *rand.Rand) int64 { return 1735689600000 + rng.Int63n(31536000000) } // 2025
func tsS(rng *rand.Rand) int64  { return tsMs(rng) / 1000 }

var browserUAs = []string{
	"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
	"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
	"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/490.0.0.41.109;FBBV/662744449;FBDV/iPhone15,2;FBMD/iPhone;FBSN/iOS;FBSV/18.1;FBSS/3;FBID/phone;FBLC/nl_NL;FBOP/5]",
	"Mozilla/5.0 (Linux; Android 14; SM-S918B Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/131.0.6778.39 Mobile Safari/537.36 Instagram 357.0.0.25.101 Android (34/14; 480dpi; 1080x2340; samsung; SM-S918B; dm3q; qcom; nl_NL; 655014963)",
	"okhttp/4.12.0",
	"MyShopApp/5.12.1 (com.example.shop; build:20241205123; iOS 18.1.1) Alamofire/5.9.1",
}

// cookieJar builds a cookie header of a shop visitor: analytics, ads,
// session, consent, CDN.
func cookieJar(rng *rand.Rand) string {
	t := tsS(rng)
	ms := tsMs(rng)
	ga := fmt.Sprintf("GA1.1.%d.%d", 100000000+rng.Int63n(1900000000), t)
	hj := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"id":"%s","created":%d,"existing":true}`, uuid4(rng), ms)))
	hjs := base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"id":"%s","c":%d,"s":0,"r":0,"sb":0,"sr":0,"se":0,"fs":1,"sp":0}`, uuid4(rng), ms)))
	onetrust := url.QueryEscape(fmt.Sprintf("isGpcEnabled=0&datestamp=Tue Dec 10 2024 %02d:%02d:%02d GMT+0100 (Midden-Europese standaardtijd)&version=202409.1.0&browserGpcFlag=0&isIABGlobal=false&hosts=&consentId=%s&interactionCount=1&isAnonUser=1&landingPath=NotLandingPage&groups=C0001:1,C0002:1,C0003:1,C0004:0&intType=1&geolocation=NL;NH&AwaitingReconsent=false", rng.Intn(24), rng.Intn(60), rng.Intn(60), uuid4(rng)))
	cookiebot := url.QueryEscape(fmt.Sprintf("{stamp:'%s',necessary:true,preferences:true,statistics:true,marketing:false,method:'explicit',ver:%d,utc:%d,region:'nl'}", base64.StdEncoding.EncodeToString([]byte(alnum(rng, 36))), 1+rng.Intn(5), ms))
	jwtPart := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	jwt := jwtPart(map[string]any{"alg": "HS256", "typ": "JWT"}) + "." + jwtPart(map[string]any{"sub": fmt.Sprint(rng.Int63n(1e9)), "iat": t, "exp": t + 3600, "jti": uuid4(rng), "sid": hexs(rng, 32)}) + "." + base64.RawURLEncoding.EncodeToString([]byte(alnum(rng, 32)))
	parts := []string{
		"_ga=" + ga,
		fmt.Sprintf("_ga_%s=GS1.1.%d.%d.1.%d.60.0.%d", strings.ToUpper(alnum(rng, 10)), t, 1+rng.Intn(40), t+int64(rng.Intn(1000)), rng.Int63n(2000000000)),
		fmt.Sprintf("_ga_%s=GS2.1.s%d$o%d$g1$t%d$j60$l0$h%d", strings.ToUpper(alnum(rng, 10)), t, 1+rng.Intn(40), t+int64(rng.Intn(1000)), rng.Int63n(2000000000)),
		fmt.Sprintf("_gcl_au=1.1.%d.%d", rng.Int63n(2000000000), t),
		fmt.Sprintf("_fbp=fb.1.%d.%d", ms, rng.Int63n(2000000000)),
		fmt.Sprintf("_fbc=fb.1.%d.IwZXh0bgNhZW0BMABhZGlkAasX%s", ms, alnum(rng, 60)),
		fmt.Sprintf("_hjSessionUser_%d=%s", 1000000+rng.Intn(4000000), hj),
		fmt.Sprintf("_hjSession_%d=%s", 1000000+rng.Intn(4000000), hjs),
		fmt.Sprintf("__cf_bm=%s-%d-1.0.1.1-%s", alnum(rng, 43), t, alnum(rng, 86)),
		fmt.Sprintf("_cfuvid=%s-%d-0.0.1.1-604800000", alnum(rng, 43), ms),
		fmt.Sprintf("cf_clearance=%s-%d-1.2.1.1-%s", alnum(rng, 43), t, alnum(rng, 200)),
		"_shopify_y=" + uuid4(rng), "_shopify_s=" + uuid4(rng),
		fmt.Sprintf("cart=Z2NwLWV1cm9wZS13ZXN0MTo%s?key=%s", alnum(rng, 20), hexs(rng, 32)),
		fmt.Sprintf("_shopify_sa_t=%s", url.QueryEscape(fmt.Sprintf("2025-%02d-%02dT%02d:%02d:%02d.%03dZ", 1+rng.Intn(12), 1+rng.Intn(28), rng.Intn(24), rng.Intn(60), rng.Intn(60), rng.Intn(1000)))),
		"wp_woocommerce_session_" + hexs(rng, 32) + "=" + fmt.Sprint(1+rng.Intn(90000)) + "%7C%7C" + fmt.Sprint(t+172800) + "%7C%7C" + fmt.Sprint(t+3600) + "%7C%7C" + hexs(rng, 32),
		"woocommerce_items_in_cart=1", "woocommerce_cart_hash=" + hexs(rng, 32),
		"PHPSESSID=" + strings.ToLower(alnum(rng, 26)),
		"mage-cache-sessid=true", "form_key=" + alnum(rng, 16), "private_content_version=" + hexs(rng, 32),
		"session-=" + alnum(rng, 32), "sw-context-token=" + alnum(rng, 32), "sw-states=" + url.QueryEscape("cart-filled"),
		"OptanonConsent=" + onetrust, "OptanonAlertBoxClosed=2024-12-10T10:11:12.345Z",
		"CookieConsent=" + cookiebot,
		"auth_token=" + jwt,
		fmt.Sprintf("_pin_unauth=%s", base64.StdEncoding.EncodeToString([]byte(uuid4(rng)))),
		fmt.Sprintf("_ttp=%s", alnum(rng, 27)), fmt.Sprintf("_uetsid=%s", hexs(rng, 32)), fmt.Sprintf("_uetvid=%s", hexs(rng, 32)),
		fmt.Sprintf("_clck=%s%%7C2%%7Cfrl%%7C0%%7C%d", alnum(rng, 6), 1700+rng.Intn(100)),
		fmt.Sprintf("_clsk=%s%%7C%d%%7C1%%7C1%%7Cq.clarity.ms%%2Fcollect", alnum(rng, 7), ms),
		fmt.Sprintf("__kla_id=%s", base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"cid":"%s","$referrer":{"ts":%d,"value":"","first_page":"https://shop.example/"},"$last_referrer":{"ts":%d}}`, alnum(rng, 40), t, t+10)))),
	}
	rng.Shuffle(len(parts), func(i, j int) { parts[i], parts[j] = parts[j], parts[i] })
	return strings.Join(parts[:10+rng.Intn(len(parts)-10)], "; ")
}

func browserHeaders(rng *rand.Rand) map[string]string {
	h := map[string]string{
		"User-Agent":      browserUAs[rng.Intn(len(browserUAs))],
		"Accept":          "application/json, text/plain, */*",
		"Accept-Language": "nl-NL,nl;q=0.9,en-US;q=0.8,en;q=0.7,de;q=0.6",
		"Cookie":          cookieJar(rng),
		"Referer":         fmt.Sprintf("https://shop.example/checkout/?gclid=%s&gad_source=1&fbclid=IwZXh0bgNhZW0CMTEAAR%s_aem_%s", alnum(rng, 90), alnum(rng, 60), alnum(rng, 22)),
		"Sec-Ch-Ua":       `"Google Chrome";v="131", "Chromium";v="131", "Not_A Brand";v="24"`,
		"Traceparent":     fmt.Sprintf("00-%s-%s-01", hexs(rng, 32), hexs(rng, 16)),
		"Sentry-Trace":    fmt.Sprintf("%s-%s-1", hexs(rng, 32), hexs(rng, 16)),
		"Baggage":         fmt.Sprintf("sentry-environment=production,sentry-release=shop%%40%s,sentry-public_key=%s,sentry-trace_id=%s,sentry-sample_rate=0.1,sentry-sampled=true", hexs(rng, 40), hexs(rng, 32), hexs(rng, 32)),
		"X-Request-Id":    uuid4(rng),
		"Cf-Ray":          fmt.Sprintf("%s-AMS", hexs(rng, 16)),
		"X-Newrelic-Id":   base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", 1000000+rng.Intn(9000000), 100000000+rng.Intn(900000000)))),
	}
	if rng.Intn(3) == 0 { // mobile app
		h["X-Device-Id"] = uuid4(rng)
		h["X-App-Build"] = fmt.Sprint(20240000000 + rng.Int63n(100000000))
		h["Authorization"] = "Bearer " + alnum(rng, 40)
		h["X-Amz-Cf-Id"] = alnum(rng, 56)
	}
	return h
}

var notes = []string{
	"Graag bezorgen na 17:00, bel %s. Bestelling %d.",
	"Bitte an der Hintertür abgeben. Tel. %s, Kundennr. %d",
	"Merci de livrer au gardien. Tél : %s. Commande n° %d",
	"Por favor entregar por la mañana, teléfono %s, pedido %d",
	"配達前に電話してください %s 注文番号 %d",
	"Please leave with neighbour at no. 12. Call %s. Ref %d",
	"Proszę dzwonić %s, zamówienie %d",
}

func phone(rng *rand.Rand) string {
	switch rng.Intn(9) {
	case 0:
		return "+316" + digits(rng, 8)
	case 1:
		return "00316" + digits(rng, 8)
	case 2:
		return "+31 6 " + digits(rng, 4) + " " + digits(rng, 4)
	case 3:
		return "06-" + digits(rng, 8)
	case 4:
		return "+49 (0) 30 " + digits(rng, 8)
	case 5:
		return "+49 151 " + digits(rng, 3) + " " + digits(rng, 5)
	case 6:
		return "+1 (415) 555-" + digits(rng, 4)
	case 7:
		return "0049 171 " + digits(rng, 7)
	default:
		return "+33 6 " + digits(rng, 2) + " " + digits(rng, 2) + " " + digits(rng, 2) + " " + digits(rng, 2)
	}
}

var fpClasses = []fpClass{
	{"headers: browser+app, analytics/consent/CDN/session cookies, JWT", func(rng *rand.Rand) fpCase {
		return fpCase{header: browserHeaders(rng)}
	}},
	{"query: PayPal return ?token=EC-…&PayerID=…", func(rng *rand.Rand) fpCase {
		return fpCase{query: fmt.Sprintf("token=EC-%s&PayerID=%s&paymentId=PAYID-%s", strings.ToUpper(alnum(rng, 17)), strings.ToUpper(alnum(rng, 13)), strings.ToUpper(alnum(rng, 24)))}
	}},
	{"query: UTM/gclid/fbclid + order/transaction ids", func(rng *rand.Rand) fpCase {
		return fpCase{query: fmt.Sprintf("utm_source=google&utm_medium=cpc&utm_campaign=%d&utm_content=%d&gclid=%s&gbraid=0AAAAA%s&transactionid=%d&_gl=1*%s*_ga*%s*_ga_X*%s", rng.Int63n(1e11), rng.Int63n(1e12), alnum(rng, 90), alnum(rng, 30), rng.Int63n(1e9), alnum(rng, 6), base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%d.%d", rng.Int63n(2e9), tsS(rng)))), base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf("%d", tsS(rng)))))}
	}},
	{"JSON: SEPA IBAN, printed format (DE/FR/ES/AT/CH/BE/PL/PT)", func(rng *rand.Rand) fpCase {
		ccs := []struct {
			cc string
			n  int
		}{{"DE", 18}, {"FR", 23}, {"ES", 20}, {"AT", 16}, {"CH", 17}, {"BE", 12}, {"PL", 24}, {"PT", 21}}
		c := ccs[rng.Intn(len(ccs))]
		return fpCase{ct: "application/json", body: fmt.Sprintf(`{"paymentMethod":{"type":"sepadirectdebit","sepa.ownerName":"J. Janssen","sepa.ibanNumber":%s},"holderName":"J. Janssen"}`, jsonStr(grouped(iban(rng, c.cc, c.n))))}
	}},
	{"JSON: SEPA IBAN, compact (DE/FR/ES/AT/CH/BE/PL/PT)", func(rng *rand.Rand) fpCase {
		ccs := []struct {
			cc string
			n  int
		}{{"DE", 18}, {"FR", 23}, {"ES", 20}, {"AT", 16}, {"CH", 17}, {"BE", 12}, {"PL", 24}, {"PT", 21}}
		c := ccs[rng.Intn(len(ccs))]
		return fpCase{ct: "application/json", body: fmt.Sprintf(`{"method":"directdebit","consumerName":"J. Janssen","consumerAccount":%s}`, jsonStr(iban(rng, c.cc, c.n)))}
	}},
	{"JSON: Dutch IBAN NL91ABNA…", func(rng *rand.Rand) fpCase {
		return fpCase{ct: "application/json", body: fmt.Sprintf(`{"iban":"NL%02dABNA%s"}`, rng.Intn(100), digits(rng, 10))}
	}},
	{"form: WooCommerce checkout, phone formats, order note in 7 languages", func(rng *rand.Rand) fpCase {
		v := url.Values{}
		v.Set("billing_first_name", "Jan")
		v.Set("billing_phone", phone(rng))
		v.Set("shipping_phone", phone(rng))
		v.Set("billing_postcode", fmt.Sprintf("%04d AB", 1000+rng.Intn(9000)))
		v.Set("order_comments", fmt.Sprintf(notes[rng.Intn(len(notes))], phone(rng), 100000000+rng.Int63n(900000000)))
		v.Set("woocommerce-process-checkout-nonce", hexs(rng, 10))
		v.Set("_wp_http_referer", "/?wc-ajax=update_order_review")
		return fpCase{ct: "application/x-www-form-urlencoded", body: v.Encode()}
	}},
	{"JSON: Shopware 6 store-api order (32-hex ids)", func(rng *rand.Rand) fpCase {
		var items []string
		for i := 0; i < 1+rng.Intn(6); i++ {
			items = append(items, fmt.Sprintf(`{"id":"%s","referencedId":"%s","quantity":%d,"type":"product"}`, hexs(rng, 32), hexs(rng, 32), 1+rng.Intn(3)))
		}
		return fpCase{ct: "application/json", body: fmt.Sprintf(`{"customerComment":"","tos":"on","paymentMethodId":"%s","shippingMethodId":"%s","billingAddressId":"%s","lineItems":[%s],"salesChannelId":"%s"}`, hexs(rng, 32), hexs(rng, 32), hexs(rng, 32), strings.Join(items, ","), hexs(rng, 32))}
	}},
	{"JSON: Magento 2 payment-information + UUIDs, Unix-ms, GTIN-13 (EAN)", func(rng *rand.Rand) fpCase {
		prefixes := []string{"87", "871", "40", "42", "50", "54", "57", "590", "600", "690", "76", "80", "94"}
		return fpCase{ct: "application/json", body: fmt.Sprintf(`{"cartId":"%s","paymentMethod":{"method":"adyen_cc","additional_data":{"stateData":"{\"riskData\":{\"clientData\":\"%s\"}}"}},"email":"jan@example.nl","items":[{"sku":"24-MB01","gtin":"%s","qty":1}],"client_ts":%d,"checkoutAttemptId":"%s"}`,
			alnum(rng, 32), base64.StdEncoding.EncodeToString([]byte(alnum(rng, 300))), ean13(rng, prefixes[rng.Intn(len(prefixes))]), tsMs(rng), uuid4(rng)+hexs(rng, 20)+alnum(rng, 40))}
	}},
	{"JSON: tracking numbers (UPS 1Z, DHL 10/12, USPS 22, PostNL 3S, FedEx 12)", func(rng *rand.Rand) fpCase {
		var tn string
		switch rng.Intn(6) {
		case 0:
			tn = "1Z" + strings.ToUpper(alnum(rng, 6)) + digits(rng, 10)
		case 1:
			tn = digits(rng, 10)
		case 2:
			tn = "JJD" + digits(rng, 18)
		case 3:
			tn = "9400" + digits(rng, 18)
		case 4:
			tn = "3S" + strings.ToUpper(alnum(rng, 4)) + digits(rng, 9)
		default:
			tn = digits(rng, 12)
		}
		return fpCase{ct: "application/json", body: fmt.Sprintf(`{"returnRequest":{"orderId":"%d","trackingNumber":"%s","reason":"size"}}`, 100000000+rng.Int63n(900000000), tn)}
	}},
	{"JSON: Adyen Drop-in paymentMethod (encrypted) + browserInfo", func(rng *rand.Rand) fpCase {
		enc := func() string {
			return "adyenjs_0_1_25$" + base64.StdEncoding.EncodeToString([]byte(alnum(rng, 256))) + "$" + base64.StdEncoding.EncodeToString([]byte(alnum(rng, 96)))
		}
		return fpCase{ct: "application/json", body: fmt.Sprintf(`{"riskData":{"clientData":"%s"},"paymentMethod":{"type":"scheme","holderName":"J Janssen","encryptedCardNumber":"%s","encryptedExpiryMonth":"%s","encryptedExpiryYear":"%s","encryptedSecurityCode":"%s","brand":"visa","checkoutAttemptId":"%s"},"browserInfo":{"acceptHeader":"*/*","colorDepth":24,"language":"nl-NL","javaEnabled":false,"screenHeight":1080,"screenWidth":1920,"userAgent":"Mozilla/5.0","timeZoneOffset":-60},"origin":"https://shop.example","clientStateDataIndicator":true}`,
			base64.StdEncoding.EncodeToString([]byte(alnum(rng, 600))), enc(), enc(), enc(), enc(), uuid4(rng)+hexs(rng, 64))}
	}},
	{"form: Stripe Elements confirm (pm_/pi_/secret, guid/muid/sid)", func(rng *rand.Rand) fpCase {
		v := url.Values{}
		v.Set("payment_method", "pm_1Q"+alnum(rng, 22))
		v.Set("expected_payment_method_type", "card")
		v.Set("use_stripe_sdk", "true")
		v.Set("return_url", "https://shop.example/checkout/complete?order="+fmt.Sprint(100000+rng.Intn(900000)))
		v.Set("key", "pk_live_51"+alnum(rng, 96))
		v.Set("client_secret", "pi_3Q"+alnum(rng, 22)+"_secret_"+alnum(rng, 25))
		v.Set("guid", uuid4(rng)+hexs(rng, 6))
		v.Set("muid", uuid4(rng)+hexs(rng, 6))
		v.Set("sid", uuid4(rng)+hexs(rng, 6))
		v.Set("payment_method_data[billing_details][phone]", phone(rng))
		v.Set("payment_method_data[time_on_page]", fmt.Sprint(1000+rng.Intn(900000)))
		v.Set("payment_method_data[payment_user_agent]", "stripe.js/"+hexs(rng, 10)+"; stripe-js-v3/"+hexs(rng, 10)+"; payment-element; deferred-intent")
		return fpCase{ct: "application/x-www-form-urlencoded", body: v.Encode()}
	}},
	{"form: 3-D Secure return PaRes/MD and cres (base64)", func(rng *rand.Rand) fpCase {
		if rng.Intn(2) == 0 {
			return fpCase{ct: "application/x-www-form-urlencoded", body: url.Values{"PaRes": {base64.StdEncoding.EncodeToString([]byte(alnum(rng, 900)))}, "MD": {fmt.Sprint(rng.Int63())}}.Encode()}
		}
		cres := base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf(`{"threeDSServerTransID":"%s","acsTransID":"%s","messageType":"CRes","messageVersion":"2.2.0","transStatus":"Y"}`, uuid4(rng), uuid4(rng))))
		return fpCase{ct: "application/x-www-form-urlencoded", body: url.Values{"cres": {cres}, "threeDSSessionData": {base64.RawURLEncoding.EncodeToString([]byte(uuid4(rng)))}}.Encode()}
	}},
	{"JSON: Mollie/MultiSafepay components + PrestaShop cart", func(rng *rand.Rand) fpCase {
		return fpCase{ct: "application/json", body: fmt.Sprintf(`{"cardToken":"tkn_%s","payload":"%s","id_cart":%d,"id_customer":%d,"secure_key":"%s","ajax":1,"token":"%s"}`,
			alnum(rng, 10), base64.StdEncoding.EncodeToString([]byte(fmt.Sprintf(`{"token":"%s","created":%d}`, alnum(rng, 40), tsMs(rng)))), rng.Intn(1000000), rng.Intn(100000), hexs(rng, 32), hexs(rng, 32))}
	}},
	{"JSON: order note with reference + date / two numbers", func(rng *rand.Rand) fpCase {
		var n string
		switch rng.Intn(4) {
		case 0:
			n = fmt.Sprintf("Ref %d - %04d-%02d-%02d", 100000000+rng.Int63n(900000000), 2025, 1+rng.Intn(12), 1+rng.Intn(28))
		case 1:
			n = fmt.Sprintf("Factuurnummer %d %d", 2025000000+rng.Int63n(1000000), 100000+rng.Intn(900000))
		case 2:
			n = fmt.Sprintf("Bel %s of %s", phone(rng), phone(rng))
		default:
			n = fmt.Sprintf("Klantnummer %d, ordernummer %d", 10000000+rng.Int63n(90000000), 100000000+rng.Int63n(900000000))
		}
		return fpCase{ct: "application/json", body: fmt.Sprintf(`{"customerNote":%s}`, jsonStr(n))}
	}},
}
