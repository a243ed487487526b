package scopereport

import (
	"html/template"
	"io"
)

// WriteHTML writes the report as one self-contained page (no scripts, no
// external resources): the figures, the data flow as an inline SVG, the
// configuration and the controls.
func WriteHTML(w io.Writer, r *Report) error { return page.Execute(w, r) }

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"date": func(t interface{ Format(string) string }) string { return t.Format("2006-01-02 15:04:05 MST") },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>cardproxy PCI scope report</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;margin:2em auto;max-width:980px;color:#1d2330}
h1{font-size:1.6em;margin-bottom:.2em} h2{font-size:1.15em;margin-top:1.8em;border-bottom:1px solid #d6dae3}
.figs{display:grid;grid-template-columns:repeat(4,1fr);gap:.8em;margin:1.2em 0}
.fig{border:1px solid #d6dae3;border-radius:6px;padding:.6em .8em}
.fig b{display:block;font-size:1.7em} .fig.ok b{color:#17803d}
table{border-collapse:collapse;width:100%;margin:.5em 0} td,th{border-bottom:1px solid #e6e9ef;padding:.3em .5em;text-align:left;vertical-align:top}
.muted{color:#667085}
</style></head><body>
<h1>PCI DSS scope report</h1>
<p class="muted">cardproxy audit trail from {{date .Period.From}} to {{date .Period.To}} · generated {{date .GeneratedAt}} · {{.Events}} audit events</p>
<div class="figs">
<div class="fig"><b id="tokenize_requests">{{.TokenizeReqs}}</b>requests tokenized</div>
<div class="fig"><b id="pan_tokens">{{.TokensIssued.PAN}}</b>card numbers tokenized ({{.TokensIssued.Reused}} repeat cards)</div>
<div class="fig"><b id="cvcs_used">{{.CVCsUsed}}</b>CVCs used once and destroyed</div>
<div class="fig ok"><b id="card_data_forwarded_to_app">{{.CardDataForwarded}}</b>requests with card data forwarded to the app</div>
</div>
<h2>Data flow</h2>
<svg id="dataflow" viewBox="0 0 900 250" width="100%" role="img" aria-label="browser to ingress to app to egress to PSP, with Vault">
<defs><marker id="a" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0 0L10 5L0 10z" fill="#1d2330"/></marker></defs>
<g font-size="14" text-anchor="middle">
<rect x="10" y="40" width="120" height="56" rx="6" fill="#f3f4f7" stroke="#1d2330"/><text x="70" y="66">Shopper's</text><text x="70" y="84">browser</text>
<rect x="190" y="40" width="140" height="56" rx="6" fill="#e8f3ec" stroke="#17803d"/><text x="260" y="66">cardproxy</text><text x="260" y="84">ingress</text>
<rect x="390" y="40" width="130" height="56" rx="6" fill="#fff" stroke="#1d2330" stroke-dasharray="5 3"/><text x="455" y="66">Merchant app</text><text x="455" y="84">(out of scope)</text>
<rect x="580" y="40" width="140" height="56" rx="6" fill="#e8f3ec" stroke="#17803d"/><text x="650" y="66">cardproxy</text><text x="650" y="84">egress</text>
<rect x="780" y="40" width="110" height="56" rx="6" fill="#f3f4f7" stroke="#1d2330"/><text x="835" y="72">PSP</text>
<rect x="360" y="180" width="190" height="52" rx="6" fill="#eef1fb" stroke="#3b5bdb"/><text x="455" y="211">HashiCorp Vault</text>
</g>
<g stroke="#1d2330" stroke-width="1.6" fill="none" marker-end="url(#a)">
<path d="M130 68H188"/><path d="M330 68H388"/><path d="M520 68H578"/><path d="M720 68H778"/>
<path d="M260 96V150L400 178"/><path d="M650 96V150L510 178"/>
</g>
<g font-size="12" fill="#344054" text-anchor="middle">
<text x="159" y="60">card</text><text x="359" y="60">tokens</text><text x="549" y="60">tokens</text><text x="749" y="60">card</text>
<text x="300" y="140">tokenize</text><text x="615" y="140">detokenize</text>
</g></svg>
<h2>Card data kept from the app</h2>
<p><span id="card_data_refused">{{.CardDataRefused}}</span> requests carried card data cardproxy could not tokenize with certainty and were refused; <b>{{.CardDataForwarded}}</b> were forwarded. Checks on every card route:</p>
<ul>{{range .ChecksRun}}<li>{{.}}</li>{{end}}</ul>
<h2>Fields tokenized</h2>
<table><tr><th>route</th><th>field</th><th>count</th></tr>{{range .FieldsTokenized}}<tr><td>{{.Route}}</td><td>{{.Field}}</td><td>{{.Count}}</td></tr>{{end}}</table>
<h2>Detokenizations</h2>
<table><tr><th>upstream</th><th>route</th><th>kind</th><th>result</th><th>count</th></tr>{{range .Detokenizations}}<tr><td>{{.Upstream}}</td><td>{{.Route}}</td><td>{{.Kind}}</td><td>{{.Result}}</td><td>{{.Count}}</td></tr>{{end}}</table>
<h2>Refusals</h2>
<table><tr><th>side</th><th>code</th><th>count</th></tr>{{range .Refusals}}<tr><td>{{.Side}}</td><td>{{.Code}}</td><td>{{.Count}}</td></tr>{{end}}</table>
<p>3-D Secure relays: <span id="relays_stored">{{.Relays.Stored}}</span> stored, <span id="relays_served">{{.Relays.Served}}</span> served.</p>
<h2>Configuration in force</h2>
{{with .Configuration}}<table>
<tr><th>admin API</th><td id="admin">{{.Admin}}</td></tr>
<tr><th>Vault</th><td>{{.Vault.Address}}; ingress: {{index .Vault.Identities "ingress"}}; egress: {{index .Vault.Identities "egress"}}</td></tr>
{{range .Ingress}}<tr><th>ingress</th><td>server {{.Server}} {{.Listen}}: card numbers in {{index .Fields "pan"}}, CVCs in {{index .Fields "cvc"}}{{if .AutoDetect}}, any other card number auto-detected{{end}}{{if .BindUpstream}}; tokens bound to {{.BindUpstream}}{{end}}</td></tr>{{end}}
{{range .Egress}}<tr><th>egress</th><td>server {{.Server}} {{.Listen}} → {{.Upstream}} {{if .Preset}}(preset {{.Preset}}){{end}}; API key {{if .KeyInjected}}injected by cardproxy{{else}}held by the app{{end}}</td></tr>{{end}}
</table>{{else}}<p class="muted">No configuration given (--config).</p>{{end}}
<p>Vault identities seen in the trail: {{range $side, $ids := .VaultIdentities}}{{$side}}: {{$ids}}; {{end}}</p>
<h2>PCI DSS v4.0 controls</h2>
<table><tr><th>requirement</th><th>control</th><th>evidence</th></tr>{{range .Controls}}<tr><td>{{.Requirement}}</td><td>{{.Control}}</td><td>{{.Evidence}}</td></tr>{{end}}</table>
</body></html>
`))
