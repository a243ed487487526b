package bench

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
)

// orderBody is a MultiSafepay direct order (the shape cardproxy's ingress
// and egress both see in the demo): pan and cvc go into the card fields as
// JSON strings, or null when empty.
func orderBody(orderID, pan, cvc string) []byte {
	return orderJSON(orderID, "direct", "CREDITCARD", fmt.Sprintf(`
    "card_number": %s,
    "card_holder_name": "Jan Janssen",
    "card_expiry_date": 2812,
    "card_cvc": %s,
    "cvc": %s,`, jsonOrNull(pan), jsonOrNull(cvc), jsonOrNull(cvc)))
}

// freeBody is a card-free order of about the same size (an iDEAL payment).
func freeBody(orderID string) []byte {
	return orderJSON(orderID, "redirect", "IDEAL", `
    "issuer_id": "INGBNL2A",
    "account_holder_name": "Jan Janssen",`)
}

func orderJSON(orderID, typ, gateway, info string) []byte {
	return fmt.Appendf(nil, `{
  "type": %q,
  "gateway": %q,
  "order_id": %q,
  "currency": "EUR",
  "amount": 1000,
  "description": "Benchmark order",
  "customer": {"locale": "nl_NL", "email": "jan@example.com", "browser": {"user_agent": "Mozilla/5.0", "screen_width": 1920}},
  "payment_options": {"notification_url": "https://shop.example/webhook", "redirect_url": "https://shop.example/ok?x=1&y=2", "cancel_url": "https://shop.example/cancel"},
  "gateway_info": {%s
    "flexible_3d": null,
    "term_url": null
  }
}`, typ, gateway, orderID, info)
}

func jsonOrNull(s string) string {
	if s == "" {
		return "null"
	}
	return strconv.Quote(s)
}

// order is what the checks read back from an order body.
type order struct {
	OrderID string `json:"order_id"`
	Gateway struct {
		PAN  string `json:"card_number"`
		CVC  string `json:"card_cvc"`
		CVC2 string `json:"cvc"`
	} `json:"gateway_info"`
}

func parseOrder(b []byte) (order, error) {
	var o order
	err := json.Unmarshal(b, &o)
	return o, err
}

// digits keeps the ASCII digits of s.
func digits(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			out = append(out, s[i])
		}
	}
	return string(out)
}

// newPAN is a random Luhn-valid 16-digit Visa number.
func newPAN(r *rand.Rand) string {
	b := make([]byte, 16)
	b[0] = '4'
	for i := 1; i < 15; i++ {
		b[i] = byte('0' + r.IntN(10))
	}
	b[15] = luhnDigit(b[:15])
	return string(b)
}

// luhnDigit is the check digit that makes body+digit pass Luhn.
func luhnDigit(body []byte) byte {
	sum := 0
	for i := len(body) - 1; i >= 0; i-- {
		d := int(body[i] - '0')
		if (len(body)-1-i)%2 == 0 { // doubled: every second digit from the right of the full number
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

func newCVC(r *rand.Rand) string { return fmt.Sprintf("%03d", r.IntN(1000)) }

// card is a card of the repeat pool and its token (from the ingress).
type card struct{ pan, token string }

// cvcCard is a PAN token and a single-use CVC token made by the ingress,
// with the PAN and CVC they stand for.
type cvcCard struct{ pan, cvc, panToken, cvcToken string }

// pool is a concurrency-safe stack of single-use items.
type pool[T any] struct {
	mu    sync.Mutex
	items []T
}

func (p *pool[T]) push(v T) {
	p.mu.Lock()
	p.items = append(p.items, v)
	p.mu.Unlock()
}

func (p *pool[T]) pop() (T, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var zero T
	if len(p.items) == 0 {
		return zero, false
	}
	v := p.items[len(p.items)-1]
	p.items = p.items[:len(p.items)-1]
	return v, true
}

func (p *pool[T]) len() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.items)
}

func (p *pool[T]) reset() {
	p.mu.Lock()
	p.items = nil
	p.mu.Unlock()
}
