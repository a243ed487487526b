package pspsim

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/msp"
)

// order is one order's state: what the API answers (data) and what the
// sandbox keeps to itself.
type order struct {
	data     *msp.Order
	pan      string
	notify   string
	redirect string
	cancel   string
	threeDS  string // "", "pending", "done"
	outcome  string // status after a successful challenge
	adyen    bool
	termURL  string
	md       string
}

// Test-card outcomes (MultiSafepay test environment).
var threeDSCards = map[string]string{
	"4761340000000019": "completed",
	"4012001037461114": "declined", // 3DS fails
	"374200000000004":  "declined", // 3DS fails
}

var directOutcome = map[string]string{
	"4917300000000008": "uncleared",
	"4012001038488884": "declined", // insufficient funds
}

func (s *Sim) newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Sim) createOrder(r *http.Request, body []byte) (int, any) {
	var req msp.OrderRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&req); err != nil {
		// Not err.Error(): a type error quotes the value, which may be a card.
		return 400, msp.Error(1000, "Invalid JSON body")
	}
	if req.OrderID == "" || req.Currency == "" || req.Amount == "" {
		return 400, msp.Error(1001, "order_id, currency and amount are required")
	}
	amount, err := req.Amount.Int64()
	if err != nil || amount <= 0 {
		return 400, msp.Error(1001, "Invalid amount")
	}
	if req.Type != "direct" {
		return 400, msp.Error(1000, "this sandbox implements type direct only")
	}
	gi := req.GatewayInfo
	if gi.CardNumber == "" {
		return 400, msp.Error(1024, "card_number is required for a direct card order")
	}
	pan := gi.CardNumber
	if !card.Valid(pan) {
		return 400, msp.Error(1024, "Invalid card number")
	}
	expiry := string(gi.CardExpiryDate)
	if !validYYMM(expiry, s.cfg.Now()) {
		return 400, msp.Error(1024, "Invalid or expired card_expiry_date (YYMM)")
	}
	cvc := gi.CardCVC
	if gi.CVC != "" {
		if cvc != "" && cvc != gi.CVC {
			return 400, msp.Error(1024, "card_cvc and cvc differ")
		}
		cvc = gi.CVC
	}
	brand := card.BrandOf(pan)
	if brand != card.Bancontact && (len(cvc) != card.CVCLen(brand) || !card.Digits(cvc)) {
		return 400, msp.Error(1024, "Invalid CVC")
	}
	if cvc != "" && cvc != "123" && cvc != "1234" {
		return 200, msp.OK(s.store(req, expiry, "declined", ""))
	}
	if outcome, is3DS := threeDSCards[pan]; is3DS {
		return 200, msp.OK(s.store(req, expiry, "initialized", outcome))
	}
	status := "completed"
	if st, ok := directOutcome[pan]; ok {
		status = st
	}
	return 200, msp.OK(s.store(req, expiry, status, ""))
}

func validYYMM(s string, now time.Time) bool {
	if len(s) != 4 || !card.Digits(s) {
		return false
	}
	yy, _ := strconv.Atoi(s[:2])
	mm, _ := strconv.Atoi(s[2:])
	if mm < 1 || mm > 12 {
		return false
	}
	y := 2000 + yy
	return y > now.Year() || (y == now.Year() && mm >= int(now.Month()))
}

func schemeName(b card.Brand) string {
	switch b {
	case card.Visa:
		return "VISA"
	case card.Mastercard:
		return "MASTERCARD"
	case card.Amex:
		return "AMEX"
	case card.Maestro:
		return "MAESTRO"
	}
	return "CREDITCARD"
}

// store creates the order and returns a copy of its answer; status
// "initialized" with a 3DS outcome sets the payment_url (and, for 3DS1
// term_url requests, the POST form).
func (s *Sim) store(req msp.OrderRequest, expiry, status, outcome string) msp.Order {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := req.OrderID
	pan := req.GatewayInfo.CardNumber
	now := s.cfg.Now().UTC().Format("2006-01-02T15:04:05")
	last4, _ := strconv.Atoi(card.Last4(pan))
	data := &msp.Order{
		OrderID:       id,
		TransactionID: s.newID(),
		Amount:        req.Amount,
		Currency:      req.Currency,
		Description:   req.Description,
		Status:        status,
		FinancialStatus: map[string]string{
			"completed": "completed", "initialized": "initialized", "uncleared": "uncleared", "declined": "declined",
		}[status],
		Created:  now,
		Modified: now,
		Customer: req.Customer,
		PaymentDetails: msp.PaymentDetails{
			Type:              schemeName(card.BrandOf(pan)),
			Last4:             last4,
			CardExpiryDate:    expiry,
			AccountHolderName: req.GatewayInfo.CardHolderName,
		},
	}
	o := &order{data: data, pan: pan, notify: req.PaymentOptions.NotificationURL,
		redirect: req.PaymentOptions.RedirectURL, cancel: req.PaymentOptions.CancelURL, outcome: outcome}
	if status == "initialized" {
		o.threeDS = "pending"
		data.Reason = "3D Secure Authorization"
		data.PaymentURL = s.cfg.PublicURL + "/acs/" + url.PathEscape(id)
		if req.GatewayInfo.TermURL != "" {
			o.termURL = req.GatewayInfo.TermURL
			o.md = s.newID()
			data.CustomerVerification = &msp.CustomerVerification{
				Type: "form",
				HTML: autoPostHTML(s.cfg.PublicURL+"/acs/"+url.PathEscape(id), map[string]string{
					"PaReq": base64.StdEncoding.EncodeToString([]byte("pareq:" + id)), "MD": o.md, "TermUrl": o.termURL,
				}),
			}
		}
	}
	s.orders[id] = o
	return *data
}

func (s *Sim) getOrder(r *http.Request, _ []byte) (int, any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[r.PathValue("id")]
	if !found {
		return 404, msp.Error(1006, "Invalid transaction ID")
	}
	return 200, msp.OK(*o.data) // a copy: the answer is encoded after the lock is released
}

func (s *Sim) refund(r *http.Request, body []byte) (int, any) {
	var req struct {
		Currency string      `json:"currency"`
		Amount   json.Number `json:"amount"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return 400, msp.Error(1000, "Invalid JSON")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, found := s.orders[r.PathValue("id")]
	if !found {
		return 404, msp.Error(1006, "Invalid transaction ID")
	}
	if o.data.Status != "completed" {
		return 400, msp.Error(1025, "Order cannot be refunded in its current status")
	}
	return 200, msp.OK(map[string]any{"transaction_id": s.newID(), "refund_id": s.newID()})
}
