package pspsim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"html/template"
	"io"
	"net/http"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/msp"
)

// The issuer's side of 3-D Secure: the challenge page a browser reaches
// through payment_url (GET) or a 3DS1 form post, and its result, which
// settles the order.

var autoPost = template.Must(template.New("post").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>3-D Secure</title></head>
<body onload="document.forms[0].submit()">
<form method="POST" action="{{.Action}}">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<noscript><button type="submit">Continue</button></noscript>
</form></body></html>`))

// autoPostHTML is a page that POSTs fields to action as soon as it loads.
func autoPostHTML(action string, fields map[string]string) string {
	var b bytes.Buffer
	_ = autoPost.Execute(&b, map[string]any{"Action": action, "Fields": fields})
	return b.String()
}

var acsPage = template.Must(template.New("acs").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>3-D Secure challenge (pspsim)</title>
<style>body{font-family:sans-serif;max-width:28em;margin:3em auto}button{font-size:1.1em;margin:.3em}</style></head>
<body><h1>3-D Secure challenge</h1>
<p>Sandbox issuer. Order <b>{{.ID}}</b>, {{.Amount}} {{.Currency}}, card ending in {{.Last4}}.</p>
<form method="POST" action="/acs/{{.ID}}/result">
<input type="hidden" name="MD" value="{{.MD}}">
<button id="authenticate" name="outcome" value="authenticate" type="submit">Authenticate</button>
<button id="fail" name="outcome" value="fail" type="submit">Fail authentication</button>
</form></body></html>`))

func (s *Sim) acsPage(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	o, found := s.orders[r.PathValue("id")]
	var view map[string]any
	if found {
		view = map[string]any{"ID": o.data.OrderID, "Amount": o.data.Amount, "Currency": o.data.Currency, "Last4": card.Last4(o.pan), "MD": o.md}
	}
	s.mu.Unlock()
	if !found || o.threeDS != "pending" {
		http.Error(w, "no 3-D Secure challenge pending for this order", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = acsPage.Execute(w, view)
}

// acsResult finishes the challenge: order status, signed webhook, then the
// browser goes back to the shop (redirect_url, or cancel_url on failure), or
// for 3DS1 an auto-posted PaRes+MD to the TermUrl.
func (s *Sim) acsResult(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id := r.PathValue("id")
	s.mu.Lock()
	o, found := s.orders[id]
	if !found || o.threeDS != "pending" {
		s.mu.Unlock()
		http.Error(w, "no 3-D Secure challenge pending for this order", http.StatusNotFound)
		return
	}
	o.threeDS = "done"
	authenticated := r.PostForm.Get("outcome") == "authenticate"
	status := o.outcome
	if !authenticated {
		status = "declined"
	}
	o.data.Status = status
	o.data.FinancialStatus = status
	o.data.Modified = s.cfg.Now().UTC().Format("2006-01-02T15:04:05")
	auth := &msp.CardAuthenticationResult{Version: "2.2.0", DsTransactionID: s.newID(), AcsTransactionID: s.newID()}
	if authenticated && status == "completed" {
		auth.ECI, auth.Status, auth.CAVV = "05", "Y", base64.StdEncoding.EncodeToString([]byte("cavv-"+id))
	} else {
		auth.ECI, auth.Status = "07", "N"
	}
	o.data.PaymentDetails.CardAuthenticationResult = auth
	body, _ := json.Marshal(o.data)
	notify, redirect, cancel, adyen, term, md := o.notify, o.redirect, o.cancel, o.adyen, o.termURL, o.md
	s.mu.Unlock()

	if notify != "" && !adyen {
		s.sendWebhook(notify, id, body)
	}
	if term != "" {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, autoPostHTML(term, map[string]string{
			"PaRes": base64.StdEncoding.EncodeToString([]byte("pares:" + id + ":" + status)), "MD": md,
		}))
		return
	}
	target := redirect
	if status != "completed" && cancel != "" {
		target = cancel
	}
	if target == "" {
		_, _ = io.WriteString(w, "3-D Secure finished: "+status)
		return
	}
	http.Redirect(w, r, appendQuery(target, "transactionid", id), http.StatusSeeOther)
}
