package pspsim

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/msp"
)

// adyenAPI authenticates with X-API-Key (Adyen's header).
func (s *Sim) adyenAPI(f apiFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := s.record(r)
		if err != nil {
			writeJSON(w, 400, map[string]any{"status": 400, "errorCode": "702", "message": "could not read body"})
			return
		}
		if s.cfg.APIKey != "" && !hmac.Equal([]byte(r.Header.Get("X-API-Key")), []byte(s.cfg.APIKey)) {
			writeJSON(w, 401, map[string]any{"status": 401, "errorCode": "000", "message": "HTTP Status Response - Unauthorized", "errorType": "security"})
			return
		}
		status, out := f(r, body)
		writeJSON(w, status, out)
	}
}

type adyenReq struct {
	Amount struct {
		Currency string `json:"currency"`
		Value    int64  `json:"value"`
	} `json:"amount"`
	Reference       string `json:"reference"`
	MerchantAccount string `json:"merchantAccount"`
	ReturnURL       string `json:"returnUrl"`
	PaymentMethod   struct {
		Type        string `json:"type"`
		Number      string `json:"number"`
		ExpiryMonth string `json:"expiryMonth"`
		ExpiryYear  string `json:"expiryYear"`
		CVC         string `json:"cvc"`
		HolderName  string `json:"holderName"`
	} `json:"paymentMethod"`
}

// adyenPayment is a minimal /v71/payments: 3DS test cards answer
// RedirectShopper with a POST action (3DS1 style: PaReq, MD, TermUrl).
func (s *Sim) adyenPayment(r *http.Request, body []byte) (int, any) {
	var req adyenReq
	if err := json.Unmarshal(body, &req); err != nil {
		return 422, map[string]any{"status": 422, "errorCode": "702", "message": "Structure of PaymentRequest contains the following unknown fields or is invalid"}
	}
	pm := req.PaymentMethod
	if req.Reference == "" || req.MerchantAccount == "" || req.ReturnURL == "" || req.Amount.Currency == "" {
		return 422, map[string]any{"status": 422, "errorCode": "100", "message": "Required field missing"}
	}
	if pm.Type != "scheme" || !card.Valid(pm.Number) {
		return 422, map[string]any{"status": 422, "errorCode": "101", "message": "Invalid card number"}
	}
	m, merr := strconv.Atoi(pm.ExpiryMonth)
	if merr != nil || m < 1 || m > 12 || len(pm.ExpiryMonth) != 2 || len(pm.ExpiryYear) != 4 {
		return 422, map[string]any{"status": 422, "errorCode": "129", "message": "Expiry Date Invalid"}
	}
	if pm.CVC != "737" && pm.CVC != "123" && pm.CVC != "7373" && pm.CVC != "1234" {
		return 200, map[string]any{"resultCode": "Refused", "refusalReason": "CVC Declined", "pspReference": s.newID()}
	}
	psp := s.newID()
	if outcome, is3DS := threeDSCards[pm.Number]; is3DS {
		md := s.newID()
		s.mu.Lock()
		s.orders[req.Reference] = &order{
			data: &msp.Order{OrderID: req.Reference, Amount: json.Number(strconv.FormatInt(req.Amount.Value, 10)), Currency: req.Amount.Currency, Status: "initialized"},
			pan:  pm.Number, outcome: outcome, threeDS: "pending", adyen: true, termURL: req.ReturnURL, md: md,
		}
		s.mu.Unlock()
		return 200, map[string]any{
			"resultCode": "RedirectShopper",
			"action": map[string]any{
				"paymentMethodType": "scheme",
				"type":              "redirect",
				"method":            "POST",
				"url":               s.cfg.PublicURL + "/acs/" + url.PathEscape(req.Reference),
				"data": map[string]string{
					"PaReq":   base64.StdEncoding.EncodeToString([]byte("pareq:" + req.Reference)),
					"MD":      md,
					"TermUrl": req.ReturnURL,
				},
			},
		}
	}
	result := "Authorised"
	if directOutcome[pm.Number] == "declined" {
		result = "Refused"
	}
	return 200, map[string]any{"resultCode": result, "pspReference": psp, "merchantReference": req.Reference}
}
