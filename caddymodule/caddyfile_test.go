package caddymodule

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
)

func TestParseTokenize(t *testing.T) {
	d := caddyfile.NewTestDispenser(`card_tokenize {
		pan     card_number gateway_info.card_number payment[cc_number]
		cvc     cvc card_cvc gateway_info.cvc
		expiry  card_expiry gateway_info.card_expiry_date
		expiry_month payment[cc_exp_month]
		expiry_year  payment[cc_exp_year]
		holder  gateway_info.card_holder_name
		ignore  order_id
		format  preserve_last4
		format  opaque gateway_info.card_number
		auto_detect off
		max_body 64KiB
		metadata none
		expose_bin
		tenant shop-2
	}`)
	var tk Tokenize
	if err := tk.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	if len(tk.PAN) != 3 || tk.PAN[2] != "payment[cc_number]" || len(tk.CVC) != 3 || len(tk.Expiry) != 2 ||
		len(tk.ExpiryMonth) != 1 || len(tk.ExpiryYear) != 1 || len(tk.Holder) != 1 || len(tk.Ignore) != 1 {
		t.Fatalf("fields: %+v", tk)
	}
	if tk.FieldFormats["gateway_info.card_number"] != "opaque" || len(tk.FieldFormats) != 1 {
		t.Fatalf("field formats: %v", tk.FieldFormats)
	}
	if tk.Format != "preserve_last4" || tk.AutoDetect == nil || *tk.AutoDetect || tk.MaxBody != 64*1024 ||
		tk.Metadata != "none" || !tk.ExposeBIN || tk.Tenant != "shop-2" {
		t.Fatalf("options: %+v", tk)
	}
}

func TestParseTokenizeErrors(t *testing.T) {
	for _, in := range []string{
		`card_tokenize extra`,
		"card_tokenize {\n pan\n}",
		"card_tokenize {\n format\n}",
		"card_tokenize {\n auto_detect maybe\n}",
		"card_tokenize {\n max_body lots\n}",
		"card_tokenize {\n expose_bin yes\n}",
		"card_tokenize {\n bogus 1\n}",
	} {
		var tk Tokenize
		if err := tk.UnmarshalCaddyfile(caddyfile.NewTestDispenser(in)); err == nil {
			t.Errorf("%q parsed without error", in)
		}
	}
}

func TestParseGlobal(t *testing.T) {
	d := caddyfile.NewTestDispenser(`cardproxy {
		vault {
			address {env.VAULT_ADDR}
			token_file /run/secrets/vault-token
			namespace ns1
			ca_cert /etc/vault-ca.pem
			tls_server_name vault.internal
			kv_mount cp
			transit_mount cp-transit
			timeout 3s
			auto_setup
		}
		tenant shop-1
		token_ttl 720h
		cvc_ttl 5m
	}`)
	v, err := parseGlobalOption(d, nil)
	if err != nil {
		t.Fatal(err)
	}
	app := v.(httpcaddyfile.App)
	if app.Name != "cardproxy" {
		t.Fatalf("app name %q", app.Name)
	}
	var a App
	if err := json.Unmarshal(app.Value, &a); err != nil {
		t.Fatal(err)
	}
	if a.Vault.Address != "{env.VAULT_ADDR}" || a.Vault.TokenFile != "/run/secrets/vault-token" || !a.Vault.AutoSetup ||
		a.Vault.KVMount != "cp" || a.Vault.TransitMount != "cp-transit" || time.Duration(a.Vault.Timeout) != 3*time.Second ||
		a.Tenant != "shop-1" || time.Duration(a.TokenTTL) != 720*time.Hour || time.Duration(a.CVCTTL) != 5*time.Minute {
		t.Fatalf("parsed %+v", a)
	}
	// Placeholders stay placeholders in the JSON (resolved at provision).
	if !strings.Contains(string(app.Value), "{env.VAULT_ADDR}") {
		t.Fatal("placeholder resolved into the JSON config")
	}
	for _, bad := range []string{
		`cardproxy { vault { address } }`,
		`cardproxy { vault { bogus x } }`,
		`cardproxy { token_ttl soon }`,
		`cardproxy { mystery }`,
	} {
		if _, err := parseGlobalOption(caddyfile.NewTestDispenser(bad), nil); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// The directive sorts after request_body and before reverse_proxy/respond.
func TestAdaptOrder(t *testing.T) {
	cf := `{
		cardproxy {
			vault {
				address http://127.0.0.1:8200
				token {env.VAULT_TOKEN}
			}
		}
	}
	:8080 {
		respond "hi"
		reverse_proxy localhost:3000
		card_tokenize {
			pan card_number
		}
		request_body {
			max_size 2MB
		}
	}`
	adapter := getAdapter("caddyfile")
	out, warn, err := adapter.Adapt([]byte(cf), nil)
	if err != nil {
		t.Fatal(err, warn)
	}
	s := string(out)
	rb, ct, rp := strings.Index(s, `"handler":"request_body"`), strings.Index(s, `"handler":"card_tokenize"`), strings.Index(s, `"handler":"reverse_proxy"`)
	rs := strings.Index(s, `"handler":"static_response"`)
	if rb < 0 || ct < 0 || rp < 0 || rs < 0 || !(rb < ct && ct < rp && ct < rs) {
		t.Fatalf("handler order wrong: request_body %d, card_tokenize %d, reverse_proxy %d, respond %d\n%s", rb, ct, rp, rs, s)
	}
	if !strings.Contains(s, `"apps":{"cardproxy":`) && !strings.Contains(s, `"cardproxy":{"vault"`) {
		t.Fatalf("cardproxy app missing:\n%s", s)
	}
	if strings.Contains(s, "VAULT_TOKEN\":") {
		t.Fatal("token value in config")
	}
	var cfg caddy.Config
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
}

func TestParseDetokenize(t *testing.T) {
	d := caddyfile.NewTestDispenser(`card_detokenize https://testapi.multisafepay.com {
		preset multisafepay
		pan extra.card
		cvc extra.cvc
		ca_cert /etc/psp-ca.pem
		tls_server_name psp.internal
		api_key {env.MSP_API_KEY}
		api_key_header api_key
		relay_3ds https://shop.example/3ds
		relay_ttl 5m
		max_body 256KiB
		max_response 2MiB
		timeout 30s
		tenant shop-1
	}`)
	var dt Detokenize
	if err := dt.UnmarshalCaddyfile(d); err != nil {
		t.Fatal(err)
	}
	if dt.Upstream != "https://testapi.multisafepay.com" || dt.Preset != "multisafepay" || dt.PAN[0] != "extra.card" ||
		dt.CACert != "/etc/psp-ca.pem" || dt.APIKey != "{env.MSP_API_KEY}" || dt.Relay3DS != "https://shop.example/3ds" ||
		time.Duration(dt.RelayTTL) != 5*time.Minute || dt.MaxBody != 256*1024 || time.Duration(dt.Timeout) != 30*time.Second ||
		dt.Tenant != "shop-1" || dt.InsecurePlainHTTPUpstream {
		t.Fatalf("parsed %+v", dt)
	}
	for _, bad := range []string{
		"card_detokenize",                                // no upstream
		"card_detokenize a b",                            // two upstreams
		"card_detokenize https://x {\n preset\n}",        // missing value
		"card_detokenize https://x {\n max_body huge\n}", //
		"card_detokenize https://x {\n insecure_plain_http_upstream yes\n}",
		"card_detokenize https://x {\n bogus 1\n}",
	} {
		var dt Detokenize
		if err := dt.UnmarshalCaddyfile(caddyfile.NewTestDispenser(bad)); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	var r Relay3DS
	if err := r.UnmarshalCaddyfile(caddyfile.NewTestDispenser("card_3ds_relay {\n tenant t1\n}")); err != nil || r.Tenant != "t1" {
		t.Fatalf("relay: %v %+v", err, r)
	}
	if err := new(Relay3DS).UnmarshalCaddyfile(caddyfile.NewTestDispenser("card_3ds_relay x")); err == nil {
		t.Error("relay with an argument parsed")
	}
}

// The configurations users copy — README's example and Caddyfile.example —
// must stay valid.
func TestDocumentedConfigsAdapt(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(readme)
	i := strings.Index(s, "## Configure it")
	a := strings.Index(s[i:], "```caddyfile\n")
	if i < 0 || a < 0 {
		t.Fatal("README has no Caddyfile example under 'Configure it'")
	}
	block := s[i+a+len("```caddyfile\n"):]
	block = block[:strings.Index(block, "```")]
	example, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	for name, cf := range map[string]string{"README.md": block, "Caddyfile.example": string(example)} {
		out, _, err := getAdapter("caddyfile").Adapt([]byte(cf), map[string]any{"filename": name})
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, h := range []string{"card_tokenize", "card_detokenize", "card_3ds_relay"} {
			if !strings.Contains(string(out), `"handler":"`+h+`"`) {
				t.Errorf("%s: no %s handler", name, h)
			}
		}
	}
}
