package token

import (
	"net/http"
	"strings"
)

// MetaHeaderPrefix starts every header cardproxy adds for the app (the
// token, brand and last 4 of the cards it tokenized). Any header with this
// prefix that a client sent is removed first (StripMetaHeaders), so the app
// can trust them; the egress never sends them to the PSP.
const MetaHeaderPrefix = "Cardproxy-"

// StripMetaHeaders removes every Cardproxy-* header (also spelled with '_',
// which PHP reads the same) and every Connection option naming one.
func StripMetaHeaders(h http.Header) {
	// A client's "Connection: Cardproxy-Card-Token" would make
	// reverse_proxy drop cardproxy's own header.
	if vs := h.Values("Connection"); len(vs) > 0 {
		var keep []string
		for _, v := range vs {
			for _, tok := range strings.Split(v, ",") {
				n := strings.ReplaceAll(strings.TrimSpace(tok), "_", "-")
				if len(n) < len(MetaHeaderPrefix) || !strings.EqualFold(n[:len(MetaHeaderPrefix)], MetaHeaderPrefix) {
					keep = append(keep, strings.TrimSpace(tok))
				}
			}
		}
		h.Del("Connection")
		if len(keep) > 0 {
			h.Set("Connection", strings.Join(keep, ", "))
		}
	}
	for k := range h {
		// Cardproxy_Card_Last4 too: PHP maps '-' and '_' both to '_'.
		if n := strings.ReplaceAll(k, "_", "-"); len(n) >= len(MetaHeaderPrefix) && strings.EqualFold(n[:len(MetaHeaderPrefix)], MetaHeaderPrefix) {
			delete(h, k)
		}
	}
}
