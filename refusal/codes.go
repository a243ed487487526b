package refusal

import "fmt"

// Side says which handler refuses with a code.
type Side uint8

// Sides.
const (
	Ingress Side = 1 << iota // card_tokenize
	Egress                   // card_detokenize
	Relay                    // card_3ds_relay
)

// Codes. Each is in Table, with its status and meaning.
const (
	UpgradeNotAllowed          Code = "upgrade_not_allowed"
	TrailersNotAllowed         Code = "trailers_not_allowed"
	TokenNotAllowed            Code = "token_not_allowed"
	InvalidCardNumber          Code = "invalid_card_number"
	InvalidCVC                 Code = "invalid_cvc"
	InvalidCardData            Code = "invalid_card_data"
	CardNumberInText           Code = "card_number_in_text"
	CVCInText                  Code = "cvc_in_text"
	CardDataInFieldName        Code = "card_data_in_field_name"
	CardNumberInQuery          Code = "card_number_in_query"
	CardNumberInHeader         Code = "card_number_in_header"
	CardNumberInPath           Code = "card_number_in_path"
	CardDataInQuery            Code = "card_data_in_query"
	CardDataInHeader           Code = "card_data_in_header"
	CardDataLeft               Code = "card_data_left"
	TooManyCards               Code = "too_many_cards"
	TooManyCVCs                Code = "too_many_cvcs"
	MalformedBody              Code = "malformed_body"
	MalformedContentType       Code = "malformed_content_type"
	AmbiguousContentType       Code = "ambiguous_content_type"
	BodyReadError              Code = "body_read_error"
	BodyTooLarge               Code = "body_too_large"
	BodyTooComplex             Code = "body_too_complex"
	CardDataInUnparsedBody     Code = "card_data_in_unparsed_body"
	UnsupportedMediaType       Code = "unsupported_media_type"
	UnsupportedContentEncoding Code = "unsupported_content_encoding"
	UnsupportedEncoding        Code = "unsupported_encoding"
	UnsupportedCharset         Code = "unsupported_charset"
	UnknownToken               Code = "unknown_token"
	TokenExpired               Code = "token_expired"
	TokenWrongUpstream         Code = "token_wrong_upstream"
	TokenOutsideCardField      Code = "token_outside_card_field"
	ExpiryUnknown              Code = "expiry_unknown"
	BadRequest                 Code = "bad_request"
	PSPUnreachable             Code = "psp_unreachable"
	PSPReadError               Code = "psp_read_error"
	PSPResponseTooLarge        Code = "psp_response_too_large"
	PSPResponseUnreadable      Code = "psp_response_unreadable"
	PSPResponseUnmaskable      Code = "psp_response_unmaskable"
	MethodNotAllowed           Code = "method_not_allowed"
	VaultUnavailable           Code = "vault_unavailable"
	VaultAuthFailed            Code = "vault_auth_failed"
)

// Row is one code in the table.
type Row struct {
	Code   Code
	Status int
	Sides  Side
	// When is the README's description (Markdown).
	When string
}

// Table is every refusal, in the order the README lists them.
var Table = []Row{
	{UpgradeNotAllowed, 400, Ingress, "a WebSocket (any `Upgrade`) or `CONNECT` request: after the switch, bytes flow uninspected; serve WebSockets on a route without `card_tokenize`, never with card data"},
	{TrailersNotAllowed, 400, Ingress, "HTTP trailers on a card request"},
	{TokenNotAllowed, 400, Ingress, "a value, the query, a header or the body carries a cardproxy token (`cp_pan_…`/`cp_cvc_…`, also percent-, `\\u`- or HTML-encoded) or (with format-preserving tokens in use) a value shaped like one: a shopper must never make the shop charge someone else's card"},
	{InvalidCardNumber, 400, Ingress, "a named card field is not a card number (12–19 digits, Luhn)"},
	{InvalidCVC, 400, Ingress, "a named CVC field is not 3 or 4 digits"},
	{InvalidCardData, 400, Ingress, "the token vault refused the card data as invalid (a second line of defence behind the two above)"},
	{CardNumberInText, 400, Ingress, "a card number is part of a value (free text, next to other text, a file upload), or in an unnamed field with `auto_detect off`"},
	{CVCInText, 400, Ingress, "a CVC next to a CVC name inside a value, a header or a body cardproxy does not parse (`cvc=123`), or (with `auto_detect off`) in a field named like a CVC field"},
	{CardDataInFieldName, 400, Ingress, "a JSON key or form name carries a card number, a CVC or a token"},
	{CardNumberInQuery, 400, Ingress, "a card number in the query string"},
	{CardNumberInHeader, 400, Ingress, "a card number in a header, a cookie, the method or the Host (digit runs glued to letters, as in hex ids, do not count)"},
	{CardNumberInPath, 400, Ingress, "a card number in the URL path"},
	{CardDataInQuery, 400, Ingress, "a value for a card or CVC field in the query string (apps merge it into the form)"},
	{CardDataInHeader, 400, Ingress, "a cookie or header named like a CVC field carries a CVC"},
	{CardDataLeft, 400, Ingress, "the residual or final check found a card number of the request where cardproxy could not replace it (a name, a part header, an escape, free text)"},
	{TooManyCards, 400, Ingress, "over `max_cards` distinct card numbers"},
	{TooManyCVCs, 400, Ingress, "over `max_cvcs` distinct CVCs"},
	{MalformedBody, 400, Ingress | Egress, "invalid JSON (also truncated), bad percent-encoding, non-canonical multipart, bad gzip"},
	{MalformedContentType, 400, Ingress | Egress, "a multipart Content-Type whose parameters do not parse"},
	{AmbiguousContentType, 400, Ingress | Egress, "two Content-Type headers, or a `,` or space in the media type"},
	{BodyReadError, 400, Ingress | Egress, "the request body could not be read (the client went away)"},
	{BodyTooLarge, 413, Ingress | Egress, "over `max_body` (declared, chunked, or after decompression)"},
	{BodyTooComplex, 413, Ingress | Egress, "over `max_fields` / `max_depth`"},
	{CardDataInUnparsedBody, 415, Ingress, "a body of a type cardproxy does not parse carries card data or a token"},
	{UnsupportedMediaType, 415, Egress, "an egress body that is not JSON, a form or multipart carries a token: cardproxy cannot place card data in it"},
	{UnsupportedContentEncoding, 415, Ingress | Egress, "`Content-Encoding` other than identity/gzip, or given twice (the egress takes identity only)"},
	{UnsupportedEncoding, 415, Ingress | Egress, "a multipart `Content-Transfer-Encoding`"},
	{UnsupportedCharset, 415, Ingress | Egress, "a charset other than UTF-8, ASCII or Latin-1"},
	{UnknownToken, 400, Egress, "token unknown, of another tenant, tampered, or a CVC token already used or expired"},
	{TokenExpired, 400, Egress, "PAN token past its lifetime"},
	{TokenWrongUpstream, 403, Egress, "PAN token bound (card_tokenize bind_upstream) to other upstreams than this egress's"},
	{TokenOutsideCardField, 400, Egress, "a token outside the route's card fields (or a CVC token outside a CVC field), in the query or in a field name"},
	{ExpiryUnknown, 422, Egress, "an expiry field holds a card token, but no expiry was stored with that card"},
	{BadRequest, 400, Egress, "the request cannot be turned into an upstream request"},
	{PSPUnreachable, 502, Egress, "connection, TLS or timeout failure (the request may not have been processed: check the order)"},
	{PSPReadError, 502, Egress, "the PSP's answer broke off while cardproxy read it"},
	{PSPResponseTooLarge, 502, Egress, "an answer over `max_response`, which cardproxy cannot scan, is withheld"},
	{PSPResponseUnreadable, 502, Egress, "an answer in an unknown or repeated Content-Encoding, which cardproxy cannot scan, is withheld"},
	{PSPResponseUnmaskable, 502, Egress, "after masking, a reading of the answer or of its 3-D Secure form (decoded, without NUL bytes) still holds this request's card data: withheld"},
	{MethodNotAllowed, 405, Relay, "a relay link opened with a method other than GET or HEAD"},
	{VaultUnavailable, 503, Ingress | Egress, "Vault unreachable, sealed or without an active node: **fail closed**, with `Retry-After`; while no node answers, within milliseconds"},
	{VaultAuthFailed, 503, Ingress | Egress, "Vault refuses cardproxy's own credentials (token expired, revoked or without its policy): fail closed; the operator must fix the token"},
}

var byCode = func() map[Code]Row {
	m := make(map[Code]Row, len(Table))
	for _, r := range Table {
		m[r.Code] = r
	}
	return m
}()

// Markdown is the README table of one side's refusals.
func Markdown(side Side) string {
	s := "| status | code | when |\n|---|---|---|\n"
	for _, r := range Table {
		if r.Sides&side != 0 {
			s += fmt.Sprintf("| %d | `%s` | %s |\n", r.Status, r.Code, r.When)
		}
	}
	return s
}
