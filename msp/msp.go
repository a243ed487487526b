// Package msp is MultiSafepay's wire format, as far as cardproxy's sandbox
// PSP (pspsim) and demo shop (demoshop) use it: the JSON of direct card
// orders (request, answer envelope, order) and the signature of webhooks.
//
// Struct fields are in alphabetical order of their JSON names, so an
// encoding lists its keys sorted, as the encoding of a map would.
package msp

import (
	"bytes"
	"encoding/json"
)

// OrderRequest is the body of POST /v1/json/orders. The sandbox implements
// direct card orders: Type "direct", card data in GatewayInfo.
type OrderRequest struct {
	// Amount is in minor units (cents), a JSON number.
	Amount json.Number `json:"amount"`
	// Currency is an ISO 4217 code, e.g. "EUR".
	Currency string `json:"currency"`
	// Customer is the shopper (locale, IP address, browser data for 3-D
	// Secure); the order echoes it as sent.
	Customer map[string]any `json:"customer"`
	// Description is shown to the shopper.
	Description string `json:"description"`
	// Gateway is "CREDITCARD" or a scheme ("VISA", "MASTERCARD", …).
	Gateway string `json:"gateway"`
	// GatewayInfo carries the card.
	GatewayInfo GatewayInfo `json:"gateway_info"`
	// OrderID is the merchant's order reference; the API's order URLs use it.
	OrderID string `json:"order_id"`
	// PaymentOptions are the shop's return and notification URLs.
	PaymentOptions PaymentOptions `json:"payment_options"`
	// RecurringID, on a later recurring order, replaces the card data.
	RecurringID string `json:"recurring_id,omitempty"`
	// Type is "direct" for a card order paid without a hosted page.
	Type string `json:"type"`
}

// PaymentOptions are where the PSP sends the shopper and its webhooks.
type PaymentOptions struct {
	// CancelURL is where the shopper returns after a failed or cancelled
	// payment.
	CancelURL string `json:"cancel_url"`
	// CloseWindow asks the hosted page to close its window at the end.
	CloseWindow bool `json:"close_window"`
	// NotificationMethod is "POST" (the body is the order) or "GET".
	NotificationMethod string `json:"notification_method,omitempty"`
	// NotificationURL receives the signed webhooks (see Sign).
	NotificationURL string `json:"notification_url"`
	// RedirectURL is where the shopper returns after paying, with
	// transactionid=<order_id> appended.
	RedirectURL string `json:"redirect_url"`
}

// GatewayInfo is the card of a direct card order. Unset fields may arrive as
// JSON null, which decodes as "".
type GatewayInfo struct {
	// CardCVC is the card's security code; SDKs send it here, in CVC, or
	// in both with the same value.
	CardCVC string `json:"card_cvc"`
	// CardExpiryDate is YYMM, sent as a string or a number.
	CardExpiryDate YYMM `json:"card_expiry_date"`
	// CardHolderName is the name on the card.
	CardHolderName string `json:"card_holder_name"`
	// CardNumber is the PAN, a JSON string.
	CardNumber string `json:"card_number"`
	// CVC is the other name of CardCVC.
	CVC string `json:"cvc,omitempty"`
	// TermURL, set, asks for a 3-D Secure 1 form (see CustomerVerification)
	// whose answer the ACS posts to this URL.
	TermURL string `json:"term_url,omitempty"`
}

// YYMM is a card expiry as MultiSafepay writes it ("3012": December 2030).
// It decodes from a JSON string or a JSON number, and encodes as a string.
// Any other JSON value decodes to its literal text, which is never four
// digits, so the value is refused where it is checked rather than failing
// the whole request's decoding.
type YYMM string

// UnmarshalJSON accepts "3012", 3012 or anything else (see YYMM).
func (y *YYMM) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' && json.Unmarshal(b, &s) == nil {
		*y = YYMM(s)
		return nil
	}
	*y = YYMM(bytes.TrimSpace(b))
	return nil
}

// Response is the envelope of every answer of the API: Success with the
// answer in Data, or not with ErrorCode and ErrorInfo (and Data an empty
// JSON array).
type Response[T any] struct {
	// Data is the answer (an Order for order calls).
	Data T `json:"data"`
	// ErrorCode is MultiSafepay's error number, e.g. 1032 (invalid API key).
	ErrorCode int `json:"error_code,omitempty"`
	// ErrorInfo is the error's text.
	ErrorInfo string `json:"error_info,omitempty"`
	// Success tells an answer from an error.
	Success bool `json:"success"`
}

// OK is a successful answer carrying data.
func OK(data any) Response[any] { return Response[any]{Data: data, Success: true} }

// Error is an error answer.
func Error(code int, info string) Response[any] {
	return Response[any]{Data: []any{}, ErrorCode: code, ErrorInfo: info}
}

// Order is an order as the API returns it and as a webhook's body carries
// it. Card data appears masked only (PaymentDetails).
type Order struct {
	// Amount is in minor units.
	Amount json.Number `json:"amount"`
	// Created is the creation time, UTC, "2006-01-02T15:04:05".
	Created string `json:"created"`
	// Currency is an ISO 4217 code.
	Currency string `json:"currency"`
	// Customer is the request's customer, echoed.
	Customer map[string]any `json:"customer"`
	// CustomerVerification, on a 3-D Secure order that asked for it, is
	// what the shop shows the shopper instead of PaymentURL.
	CustomerVerification *CustomerVerification `json:"customer_verification,omitempty"`
	// Description is the request's description.
	Description string `json:"description"`
	// FinancialStatus follows Status for card orders.
	FinancialStatus string `json:"financial_status"`
	// Modified is the time of the last change, like Created.
	Modified string `json:"modified"`
	// OrderID is the merchant's order reference.
	OrderID string `json:"order_id"`
	// PaymentDetails describe the card, masked.
	PaymentDetails PaymentDetails `json:"payment_details"`
	// PaymentURL, on an order waiting for 3-D Secure, is where the shop
	// sends the shopper's browser (GET).
	PaymentURL string `json:"payment_url,omitempty"`
	// Reason says why the order waits ("3D Secure Authorization").
	Reason string `json:"reason,omitempty"`
	// Status is "initialized" (waiting for 3-D Secure), "completed",
	// "uncleared" or "declined".
	Status string `json:"status"`
	// TransactionID is the PSP's reference of the payment.
	TransactionID string `json:"transaction_id"`
}

// CustomerVerification is how a 3-D Secure challenge reaches the shopper:
// Type "form" with HTML that posts itself to the ACS (3-D Secure 1: PaReq,
// MD, TermUrl), or Type "redirect" with a URL to send the browser to.
type CustomerVerification struct {
	// HTML is the self-submitting page, for Type "form".
	HTML string `json:"html,omitempty"`
	// Type is "form" or "redirect".
	Type string `json:"type"`
	// URL is the challenge page, for Type "redirect".
	URL string `json:"url,omitempty"`
}

// PaymentDetails is the masked card of an order.
type PaymentDetails struct {
	// AccountHolderName is the name on the card.
	AccountHolderName string `json:"account_holder_name"`
	// CardAuthenticationResult is the 3-D Secure outcome, once there is one.
	CardAuthenticationResult *CardAuthenticationResult `json:"card_authentication_result,omitempty"`
	// CardExpiryDate is YYMM.
	CardExpiryDate string `json:"card_expiry_date"`
	// Last4 is the card number's last four digits, as a JSON number
	// (so 0042 is 42).
	Last4 int `json:"last4"`
	// Type is the scheme: "VISA", "MASTERCARD", "AMEX", "MAESTRO" or
	// "CREDITCARD".
	Type string `json:"type"`
}

// CardAuthenticationResult is the outcome of a 3-D Secure challenge.
type CardAuthenticationResult struct {
	// AcsTransactionID is the issuer ACS's reference.
	AcsTransactionID string `json:"acs_transaction_id"`
	// CAVV is the authentication value (base64), when authenticated.
	CAVV string `json:"cavv,omitempty"`
	// DsTransactionID is the directory server's reference.
	DsTransactionID string `json:"ds_transaction_id"`
	// ECI is the electronic commerce indicator ("05": authenticated).
	ECI string `json:"eci"`
	// Status is "Y" (authenticated) or "N".
	Status string `json:"status"`
	// Version is the 3-D Secure protocol version, e.g. "2.2.0".
	Version string `json:"version"`
}
