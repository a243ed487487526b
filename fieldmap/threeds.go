package fieldmap

import (
	"strings"

	"github.com/cardproxy/cardproxy/bodyrewrite"
	"github.com/cardproxy/cardproxy/card"
)

// threeDSFields are the fields of a 3-D Secure or PSP return (the shopper's
// browser posting the ACS's answer back to the shop). A flat form made of
// these fields only is a 3-D Secure return: it passes byte for byte, without
// auto-detect (a numeric MD can pass Luhn). Anywhere else these names mean
// nothing.
var threeDSFields = func() map[string]bool {
	m := map[string]bool{}
	for _, n := range []string{"PaRes", "PaReq", "MD", "TermUrl", "cres", "creq", "threeDSSessionData",
		"redirectResult", "transactionid", "payload", "payment_intent", "payment_intent_client_secret",
		"cko-session-id"} {
		m[strings.ToLower(n)] = true
	}
	return m
}()

// Is3DSName reports a 3-D Secure return field name (any case).
func Is3DSName(name string) bool { return threeDSFields[strings.ToLower(name)] }

// Numeric reports whether v is a number, spaces and dashes allowed: the only
// kind of 3-D Secure return value exempt from the card checks (an MD can be
// numeric and pass Luhn; free text in a 3DS-named field gets no exemption).
func Numeric(v string) bool {
	_, ok := card.Normalize(strings.TrimSpace(v))
	return ok
}

// Is3DSReturn reports whether a body is a 3-D Secure return: a form whose
// fields all are top-level 3-D Secure fields.
func Is3DSReturn(fields []bodyrewrite.Field) bool {
	if len(fields) == 0 {
		return false
	}
	for i := range fields {
		f := &fields[i]
		if f.Enc != bodyrewrite.Form || len(f.Path) != 1 || len(f.Readings()) > 1 || !Is3DSName(f.Path[0]) {
			return false
		}
	}
	return true
}
