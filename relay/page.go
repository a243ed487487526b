package relay

import (
	"crypto/rand"
	"encoding/base64"
	"html/template"
	"net/http"
	"net/url"
	"strings"
)

// form is the page of a form redirect: it posts the PSP's fields to the
// ACS as soon as it loads (a button without JavaScript).
var form = template.Must(template.New("relay").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="referrer" content="no-referrer"><title>Secure payment</title></head>
<body>
<form id="cardproxy-3ds" method="POST" action="{{.Action}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<noscript><p>Continue to your bank to confirm the payment.</p><button type="submit">Continue</button></noscript>
</form>
<script nonce="{{.Nonce}}">document.getElementById("cardproxy-3ds").submit();</script>
</body></html>`))

// Page writes the page that sends the shopper's browser on: for a form
// redirect, an auto-submitting form (script allowed by nonce only); for a
// PSP's own HTML page, that page exactly as the PSP sent it, sandboxed.
// Headers already on w (no-store, no-referrer) are kept.
func Page(w http.ResponseWriter, rel Redirect) error {
	hdr := w.Header()
	hdr.Set("Content-Type", "text/html; charset=utf-8")
	if rel.HTML != "" {
		// The PSP's own auto-submitting page, exactly as the PSP sent it —
		// sandboxed: it runs in an opaque origin, so it cannot read the
		// shop's cookies or storage, but may run its script, submit its form
		// and navigate the page to the issuer.
		hdr.Set("Content-Security-Policy", "sandbox allow-forms allow-scripts allow-top-navigation")
		_, err := w.Write([]byte(rel.HTML))
		return err
	}
	u, perr := url.Parse(rel.Action)
	if perr != nil || (u.Scheme != "https" && u.Scheme != "http") {
		hdr.Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusBadGateway)
		_, werr := w.Write([]byte("The payment provider's redirect is not usable.\n"))
		return werr
	}
	nb := make([]byte, 16)
	_, _ = rand.Read(nb)
	nonce := base64.StdEncoding.EncodeToString(nb)
	hdr.Set("Content-Security-Policy", strings.Join([]string{
		"default-src 'none'", "script-src 'nonce-" + nonce + "'", "base-uri 'none'", "frame-ancestors 'self'",
	}, "; "))
	return form.Execute(w, map[string]any{"Action": rel.Action, "Fields": rel.Fields, "Nonce": nonce})
}
