package soak

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/cardproxy/cardproxy/card"
)

// testCard is what a shopper types: the upstream must get exactly this.
type testCard struct {
	PAN, CVC, Expiry, Holder string // Expiry is MultiSafepay's YYMM
	pool                     int    // index in the repeat pool, -1 for a fresh card
}

var (
	firstNames = []string{"Jan", "Anna", "Zoë", "Jürgen", "Søren", "Marie-Claire", "Seán", "Li", "Ana María"}
	lastNames  = []string{"Janssen", "de Vries", "Ørsted", "O'Brien", "Müller", "Nakamura", "Smith", "García López"}
)

// newCard is a random Luhn-valid Visa, Mastercard or Amex (4-digit CVC) with
// a future expiry and a holder name (some non-ASCII).
func newCard(r *rand.Rand, pool int) testCard {
	prefix, n, cvcLen := "4", 16, 3
	switch r.IntN(3) {
	case 1:
		prefix = fmt.Sprint(51 + r.IntN(5))
	case 2:
		prefix, n, cvcLen = []string{"34", "37"}[r.IntN(2)], 15, 4
	}
	return testCard{
		PAN:    withLuhn(prefix + randDigits(r, n-1-len(prefix))),
		CVC:    randDigits(r, cvcLen),
		Expiry: fmt.Sprintf("%02d%02d", 28+r.IntN(8), 1+r.IntN(12)), // YY 28–35: never also a valid MMYY
		Holder: firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))],
		pool:   pool,
	}
}

func withLuhn(payload string) string { return payload + string(card.LuhnDigit(payload)) }

func randDigits(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte('0' + r.IntN(10))
	}
	return string(b)
}

// order is a MultiSafepay direct order. The order id is 8 digits after a
// letter, so no 3–4 digit CVC ever stands digit-bounded in it.
func order(id string, gatewayInfo map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{
		"type": "direct", "gateway": "CREDITCARD", "order_id": id, "currency": "EUR", "amount": 1000,
		"description": "soak order", "gateway_info": gatewayInfo,
	})
	return b
}

// trip is one round trip's outcome.
type trip struct {
	kind            string // "" or the error kind
	ingress, egress time.Duration
	exact           bool
	inexact         string // the fields that differed (names and types only)
	leak            string // card data where the app can see it
	panToken        string
}

// roundTrip: the shopper's order through the ingress to the app, then the
// app's PSP call with the tokens it got through the egress to the upstream.
func (s *soak) roundTrip(i int, c testCard) (t trip) {
	id := fmt.Sprintf("soak-%08d", i)
	start := time.Now()
	status, answer, err := post(s.client, s.ingressURL, order(id, map[string]any{
		"card_number": c.PAN, "card_cvc": c.CVC, "card_expiry_date": c.Expiry, "card_holder_name": c.Holder,
	}))
	t.ingress = time.Since(start)
	if t.kind = failure("ingress", status, answer, err); t.kind != "" {
		return t
	}
	got, ok := s.app.take(id)
	if !ok {
		t.kind = "app: order not received"
		return t
	}
	gi, leak := appView(got, c)
	if t.leak = leak; leak != "" {
		return t
	}
	t.panToken = gi["card_number"].(string)

	// The app's PSP call: the tokens it got. Expiry and holder three ways:
	// the PAN token (filled in from the record), null (filled in), or as
	// the app received them.
	psp := map[string]any{"card_number": t.panToken, "card_cvc": gi["card_cvc"]}
	switch i % 3 {
	case 0:
		psp["card_expiry_date"], psp["card_holder_name"] = t.panToken, t.panToken
	case 1:
		psp["card_expiry_date"], psp["card_holder_name"] = nil, nil
	case 2:
		psp["card_expiry_date"], psp["card_holder_name"] = gi["card_expiry_date"], gi["card_holder_name"]
	}
	start = time.Now()
	status, answer, err = post(s.client, s.egressURL, order(id, psp))
	t.egress = time.Since(start)
	if t.kind = failure("egress", status, answer, err); t.kind != "" {
		return t
	}
	if t.leak = answerLeak(answer, c); t.leak != "" {
		return t
	}
	up, ok := s.psp.take(id)
	switch {
	case !ok:
		t.kind = "upstream: order not received"
	case up.header.Get("api_key") != s.pspKey:
		t.kind = "upstream: api_key not injected"
	default:
		t.inexact = diff(up.body, c)
		t.exact = t.inexact == ""
	}
	return t
}

func post(c *http.Client, url string, body []byte) (int, []byte, error) {
	resp, err := c.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// failure names a failed leg: transport error, or status and refusal code.
func failure(leg string, status int, answer []byte, err error) string {
	switch {
	case err != nil:
		msg := err.Error()
		if k := strings.LastIndex(msg, ": "); k >= 0 {
			msg = msg[k+2:] // "connection reset by peer", without addresses
		}
		return leg + ": " + msg
	case status == http.StatusOK:
		return ""
	}
	var r struct {
		Error, Message string
	}
	_ = json.Unmarshal(answer, &r)
	msg, _, _ := strings.Cut(r.Message, ";") // refusal messages hold no card data or tokens
	return fmt.Sprintf("%s: %d %s (%s)", leg, status, r.Error, msg)
}

// appView checks what the app got — no PAN anywhere, no CVC as a value,
// card fields tokenized — and returns its gateway_info.
func appView(r received, c testCard) (map[string]any, string) {
	var hdr bytes.Buffer
	_ = r.header.Write(&hdr)
	if bytes.Contains(r.body, []byte(c.PAN)) || bytes.Contains(hdr.Bytes(), []byte(c.PAN)) {
		return nil, "PAN at the app"
	}
	var o struct {
		GatewayInfo map[string]any `json:"gateway_info"`
	}
	if err := json.Unmarshal(r.body, &o); err != nil {
		return nil, "app body unreadable"
	}
	if k := cvcIn(o.GatewayInfo, c); k != "" {
		return nil, "CVC at the app in " + k
	}
	if k := headerWith(r.header, c.CVC); k != "" {
		return nil, "CVC at the app in header " + k
	}
	pan, _ := o.GatewayInfo["card_number"].(string)
	cvc, _ := o.GatewayInfo["card_cvc"].(string)
	if !strings.HasPrefix(pan, "cp_pan_") || !strings.HasPrefix(cvc, "cp_cvc_") {
		return nil, "card field not tokenized at the app"
	}
	return o.GatewayInfo, ""
}

// answerLeak checks the PSP's answer as the app gets it (the upstream echoes
// the card data; the egress must mask it).
func answerLeak(answer []byte, c testCard) string {
	var a struct {
		Data struct {
			GatewayInfo map[string]any `json:"gateway_info"`
		} `json:"data"`
	}
	switch {
	case bytes.Contains(answer, []byte(c.PAN)):
		return "PAN in the PSP answer at the app"
	case json.Unmarshal(answer, &a) != nil:
		return "PSP answer unreadable"
	case cvcIn(a.Data.GatewayInfo, c) != "":
		return "CVC in the PSP answer at the app in " + cvcIn(a.Data.GatewayInfo, c)
	}
	return ""
}

// headerWith names a header whose value is v, except those that may equal
// a CVC by chance: the body's length and the card's last four digits.
func headerWith(h http.Header, v string) string {
	for k, vs := range h {
		if k == "Content-Length" || k == "Cardproxy-Card-Last4" {
			continue
		}
		for _, x := range vs {
			if x == v {
				return k
			}
		}
	}
	return ""
}

// cvcIn names a field of gateway_info holding the CVC, except the expiry
// when the shopper's expiry is the same four digits as an Amex CVC.
func cvcIn(m map[string]any, c testCard) string {
	for k, x := range m {
		if x == c.CVC && !(k == "card_expiry_date" && c.Expiry == c.CVC) {
			return k
		}
	}
	return ""
}

// diff compares the upstream's gateway_info with the card as sent: the
// names (and JSON types) of the fields that differ, "" when exact.
func diff(body []byte, c testCard) string {
	var o struct {
		GatewayInfo map[string]any `json:"gateway_info"`
	}
	if err := json.Unmarshal(body, &o); err != nil {
		return "body unreadable"
	}
	want := map[string]string{
		"card_number": c.PAN, "card_cvc": c.CVC, "card_expiry_date": c.Expiry, "card_holder_name": c.Holder,
	}
	var bad []string
	for k, w := range want {
		if v, ok := o.GatewayInfo[k].(string); !ok || v != w {
			bad = append(bad, fmt.Sprintf("%s (%T)", k, o.GatewayInfo[k]))
		}
	}
	if len(o.GatewayInfo) != len(want) {
		bad = append(bad, fmt.Sprintf("%d fields", len(o.GatewayInfo)))
	}
	sort.Strings(bad)
	return strings.Join(bad, ", ")
}
