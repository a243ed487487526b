package egress

import (
	"bytes"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/fieldmap"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/textscan"
	"github.com/cardproxy/cardproxy/token"
)

// The egress fuzz targets: Plan + Apply with the card data a lookup would
// return (FuzzSwap), and the masking of PSP answers (FuzzAnswer) and
// their headers (FuzzAnswerHeaders).
//
//	go test -run '^$' -fuzz '^FuzzSwap$' -fuzztime 60s ./egress

var fuzzPANs = []string{"4111111111111111", "5555555555554444", "378282246310005", "6011000990139424"}

// FuzzSwap: what goes to the PSP is the app's body with values changed only
// in the route's card fields — a card number field gets its token's card
// number, a CVC field its token's CVC, an expiry or holder field the card's
// — every other byte as it was, still valid JSON if it was.
func FuzzSwap(f *testing.F) {
	msp := `{"type":"direct","order_id":"o-1","currency":"EUR","amount":1000,"gateway":"VISA",` +
		`"gateway_info":{"card_number":"` + panTok + `","card_cvc":"` + cvcTok + `","card_expiry_date":"","card_holder_name":null}}`
	for _, s := range []struct {
		preset, ct, body string
	}{
		{"multisafepay", "application/json", msp},
		{"stripe", "application/x-www-form-urlencoded", "amount=1000&currency=eur&payment_method_data[type]=card&payment_method_data[card][number]=" +
			panTok + "&payment_method_data[card][cvc]=" + cvcTok + "&payment_method_data[card][exp_month]=&payment_method_data[card][exp_year]="},
		{"adyen", "application/json", `{"paymentMethod":{"type":"scheme","number":"` + panTok + `","expiryMonth":"","expiryYear":null,"holderName":"","cvc":"` + cvcTok + `"}}`},
		{"multisafepay", "multipart/form-data; boundary=b", "--b\r\nContent-Disposition: form-data; name=\"gateway_info[card_number]\"\r\n\r\n" + panTok + "\r\n--b--\r\n"},
	} {
		f.Add(s.preset, s.ct, []byte(s.body), true, true, false)
	}
	presets := slices.Sorted(maps.Keys(fieldmap.Presets))
	f.Fuzz(func(t *testing.T, preset, ct string, body []byte, expiry, holder, preserving bool) {
		p, ok := fieldmap.Presets[preset]
		if !ok {
			p = fieldmap.Presets[presets[len(preset)%len(presets)]]
		}
		c := &Config{Rules: fieldmap.Compile(p.Fields, nil), Preset: p, Preserving: func() bool { return preserving }}
		h := http.Header{"Content-Type": {ct}}
		plan, rerr := c.Plan(h, body)
		if rerr != nil || plan.Empty() {
			checkRefusal(t, rerr)
			return
		}
		s := Secrets{cards: map[string]card.Card{}, cvcs: map[string]string{}}
		for i, tok := range plan.cards {
			cd := card.Card{PAN: fuzzPANs[i%len(fuzzPANs)]}
			if expiry {
				cd.Expiry = "12/30"
			}
			if holder {
				cd.Holder = "Jan Jansen"
			}
			s.cards[tok], s.PANs = cd, append(s.PANs, cd.PAN)
		}
		for i, tok := range plan.cvcs {
			cvc := []string{"123", "4567", "739"}[i%3]
			s.cvcs[tok], s.CVCs = cvc, append(s.CVCs, cvc)
		}
		out, rerr := c.Apply(plan, s)
		if rerr != nil {
			if rerr.Code != refusal.ExpiryUnknown || expiry {
				t.Fatalf("Apply refused: %v", rerr)
			}
			return
		}
		if json.Valid(body) && !json.Valid(out) {
			t.Fatalf("valid JSON became invalid")
		}
		kind, params, _ := httpbody.Classify(h)
		in, _ := httpbody.Scan(kind, params, body, Limits)
		got, rerr := httpbody.Scan(kind, params, out, Limits)
		if rerr != nil || len(got) != len(in) {
			t.Fatalf("the body for the PSP does not scan like the app's (%v)", rerr)
		}
		var gapIn, gapOut []byte
		pos, opos := 0, 0
		for i := range in {
			a, b := &in[i], &got[i]
			if a.Kind == bodyrewrite.Object || a.Value == b.Value && a.Kind == b.Kind {
				continue
			}
			switch role := c.Rules.Of(a.Path); {
			case role == fieldmap.PAN && b.Value != s.cards[a.Value].PAN,
				role == fieldmap.CVC && b.Value != s.cvcs[a.Value],
				role != fieldmap.PAN && role != fieldmap.CVC && !role.Fillable():
				t.Fatalf("field %d (role %v) changed to what its token does not stand for", i, role)
			}
			as, ae := a.Span()
			bs, be := b.Span()
			gapIn, gapOut = append(gapIn, body[pos:as]...), append(gapOut, out[opos:bs]...)
			if a.Enc == bodyrewrite.Form && as == ae && body[as-1] != '=' {
				gapIn = append(gapIn, '=') // a pair without '=' gets one with its value
			}
			pos, opos = ae, be
		}
		gapIn, gapOut = append(gapIn, body[pos:]...), append(gapOut, out[opos:]...)
		if !bytes.Equal(gapIn, gapOut) {
			t.Fatalf("bytes outside the card fields changed")
		}
		for i := range got {
			if role := c.Rules.Of(got[i].Path); (role == fieldmap.PAN || role == fieldmap.CVC) && textscan.HasToken(got[i].Value) {
				t.Fatalf("a token is left in card field %d", i)
			}
		}
	})
}

// FuzzAnswer: a PSP answer that is not withheld holds none of the request's
// card numbers in any reading, no Luhn-valid 12–19 digit number as sent,
// none of its CVCs in any reading of a text answer; JSON stays valid JSON;
// relayed redirects hold no card number of the request either.
func FuzzAnswer(f *testing.F) {
	for _, s := range []struct{ ct, body string }{
		{"application/json", `{"success":true,"data":{"order_id":"o-1","status":"declined","payment_details":{"card_number":"4111111111111111","last4":"1111"},"cvc":"739"}}`},
		{"application/json", `{"success":true,"data":{"order_id":"1","customer_verification":{"type":"form","html":"<form action=https://acs/><input name=MD value=4111111111111111></form>"}}}`},
		{"application/json", `{"resultCode":"RedirectShopper","action":{"type":"redirect","method":"POST","url":"https://acs.example/acs","data":{"PaReq":"xyz","MD":"739","TermUrl":"https://shop/ret"}}}`},
		{"application/json", `{"n":4.111111111111111E15,"m":5555555555554444,"s":"\u0034111111111111111"}`},
		{"text/html", "<p>Card 4111 1111 1111 1111 declined, cvc 739</p>"},
		{"text/xml", "<card><![CDATA[4111]]>111111111111</card>"},
	} {
		f.Add(s.ct, []byte(s.body), "4111111111111111", "739", true)
	}
	f.Fuzz(func(t *testing.T, ct string, body []byte, pan, cvc string, relays bool) {
		pan, cvc = fuzzSecret(pan, cvc)
		m := mspConfig(false).NewMasker(Secrets{PANs: []string{pan}, CVCs: []string{cvc}})
		kind := httpbody.MediaKind(httpbody.Essence(ct))
		a, rerr := m.Answer(body, kind, relays)
		var out []byte
		if rerr == nil {
			links := make([]string, len(a.Relays))
			for i := range links {
				if i%2 == 0 {
					links[i] = "https://shop.example/3ds/" + token.RelayPrefix + "x"
				}
				if txt := a.Relays[i].Redirect.Text(); card.ContainsLoose(txt, card.OneOf(pan)) {
					t.Fatalf("a relayed redirect holds the card number")
				}
			}
			out, rerr = a.Bytes(links)
		}
		if rerr != nil {
			checkRefusal(t, rerr)
			return
		}
		noCardLeft(t, string(out), pan, cvc, kind != httpbody.JSON)
		if kind == httpbody.JSON && json.Valid(body) && !json.Valid(out) {
			t.Fatalf("valid JSON became invalid")
		}
	})
}

// FuzzAnswerHeaders: after Headers, no header name holds a card number, no
// value holds a Luhn-valid number or the request's card number in any
// reading, and no echo header (Location, X-…) the request's CVC.
func FuzzAnswerHeaders(f *testing.F) {
	f.Add("Location", "https://shop.example/return?pan=4111111111111111&cvc=739", "4111111111111111", "739")
	f.Add("X-4111111111111111", "1", "4111111111111111", "739")
	f.Add("Set-Cookie", "last=%34111111111111111; Path=/", "4111111111111111", "0739")
	f.Add("Cache-Control", "max-age=739", "5555555555554444", "739")
	f.Fuzz(func(t *testing.T, name, value, pan, cvc string) {
		pan, cvc = fuzzSecret(pan, cvc)
		m := mspConfig(false).NewMasker(Secrets{PANs: []string{pan}, CVCs: []string{cvc}})
		h := http.Header{name: {value}, "Location": {value}}
		if rerr := m.Headers(h); rerr != nil {
			checkRefusal(t, rerr)
			return
		}
		for k, vs := range h {
			if card.Contains(k, card.Either(card.AnyLuhn, card.OneOf(pan))) {
				t.Fatalf("a header name holds a card number")
			}
			for _, v := range vs {
				noCardLeft(t, v, pan, cvc, echoHeader(k))
			}
		}
	})
}

// fuzzSecret makes the fuzzer's pan and cvc a card number and a CVC.
func fuzzSecret(pan, cvc string) (string, string) {
	if !card.Valid(pan) {
		pan = fuzzPANs[len(pan)%len(fuzzPANs)]
	}
	if !card.ValidCVC(cvc) {
		cvc = "739"
	}
	return pan, cvc
}

// noCardLeft fails if s holds a Luhn-valid card number as it is, or pan
// (or, with cvcs, the CVC digit-bounded) in any reading.
func noCardLeft(t *testing.T, s, pan, cvc string, cvcs bool) {
	t.Helper()
	if card.ContainsLoose(s, card.AnyLuhn) {
		t.Fatalf("a Luhn-valid card number is left")
	}
	for _, r := range textscan.Readings(s) {
		if card.ContainsLoose(r, card.OneOf(pan)) {
			t.Fatalf("the request's card number is left in a reading")
		}
		if _, n := card.MaskCVCs(r, []string{cvc}); cvcs && n > 0 {
			t.Fatalf("the request's CVC is left in a reading")
		}
	}
}

func checkRefusal(t *testing.T, rerr *refusal.Error) {
	t.Helper()
	if rerr == nil {
		return
	}
	if s := rerr.Status(); rerr.Code == "" || s < 400 || s > 599 || strings.Contains(rerr.Message, "4111111111111111") {
		t.Fatalf("refusal without a code or with card data: %q %d", rerr.Code, s)
	}
}
