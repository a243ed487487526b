package caddymodule

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/cardproxy/cardproxy/vault"
)

func TestCaddyfileTokenize(t *testing.T) {
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

// Every refusal names what is wrong; the golden files under
// testdata/caddyfile_adapt hold the full messages of a few.
func TestCaddyfileErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"card_tokenize extra", `card_tokenize takes no arguments, got "extra"`},
		{"card_tokenize {\n pan\n}", "pan needs at least one value"},
		{"card_tokenize {\n format\n}", "format needs at least one value"},
		{"card_tokenize {\n format opaque a\n format preserve_last4 a\n}", "field a gets two formats (opaque, then preserve_last4)"},
		{"card_tokenize {\n auto_detect maybe\n}", `auto_detect must be on or off, not "maybe"`},
		{"card_tokenize {\n auto_detect on off\n}", "auto_detect takes exactly one value, got 2"},
		{"card_tokenize {\n max_body lots\n}", `max_body: invalid size "lots"`},
		{"card_tokenize {\n max_cards 0\n}", `max_cards must be a positive number, not "0"`},
		{"card_tokenize {\n expose_bin yes\n}", "expose_bin takes no arguments, got 1"},
		{"card_tokenize {\n tenant a\n tenant b\n}", "tenant given twice (lines 2 and 3)"},
		{"card_tokenize {\n bogus 1\n}", `unknown card_tokenize option "bogus"`},
		{"card_detokenize", "card_detokenize needs an upstream"},
		{"card_detokenize a b", "card_detokenize takes one upstream, got 2"},
		{"card_detokenize https://x {\n preset\n}", "preset takes exactly one value, got 0"},
		{"card_detokenize https://x {\n max_body huge\n}", `max_body: invalid size "huge"`},
		{"card_detokenize https://x {\n timeout soon\n}", "timeout: time: invalid duration"},
		{"card_detokenize https://x {\n insecure_plain_http_upstream yes\n}", "insecure_plain_http_upstream takes no arguments"},
		{"card_detokenize https://x {\n preset stripe\n preset adyen\n}", "preset given twice (lines 2 and 3)"},
		{"card_detokenize https://x {\n bogus 1\n}", `unknown card_detokenize option "bogus"`},
		{"card_3ds_relay x", `card_3ds_relay takes no arguments, got "x"`},
		{"card_3ds_relay {\n tenant a\n tenant b\n}", "tenant given twice (lines 2 and 3)"},
		{"card_3ds_relay {\n bogus\n}", `unknown card_3ds_relay option "bogus"`},
		{"cardproxy x", `cardproxy takes no arguments, got "x"`},
		{"cardproxy {\n vault x\n}", "vault takes no arguments, got 1"},
		{"cardproxy {\n vault {\n address\n }\n}", "vault: address takes exactly one value, got 0"},
		{"cardproxy {\n vault {\n auto_setup on\n }\n}", "vault: auto_setup takes no arguments, got 1"},
		{"cardproxy {\n vault {\n timeout 1s\n timeout 2s\n }\n}", "vault: timeout given twice (lines 3 and 4)"},
		{"cardproxy {\n vault {\n bogus x\n }\n}", `unknown vault option "bogus"`},
		{"cardproxy {\n vault\n vault\n}", "cardproxy: vault given twice (lines 2 and 3)"},
		{"cardproxy {\n token_ttl soon\n}", "token_ttl: time: invalid duration"},
		{"cardproxy {\n preserving_tokens maybe\n}", `preserving_tokens must be on or off, not "maybe"`},
		{"cardproxy {\n mystery\n}", `unknown cardproxy option "mystery"`},
	} {
		d := caddyfile.NewTestDispenser(c.in)
		var err error
		switch {
		case strings.HasPrefix(c.in, "card_tokenize"):
			err = new(Tokenize).UnmarshalCaddyfile(d)
		case strings.HasPrefix(c.in, "card_detokenize"):
			err = new(Detokenize).UnmarshalCaddyfile(d)
		case strings.HasPrefix(c.in, "card_3ds_relay"):
			err = new(ThreeDSRelay).UnmarshalCaddyfile(d)
		default:
			_, err = parseGlobalOption(d, nil)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want one containing %q", c.in, err, c.want)
		}
	}
}

// Every option of vault.Config has Caddyfile syntax, is set in one of the
// golden files, and is in README's table of the global option.
func TestCaddyfileVaultOptions(t *testing.T) {
	files, _ := filepath.Glob("testdata/caddyfile_adapt/*.caddytest")
	inGolden := map[string]bool{}
	for _, file := range files {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cfg struct {
			Apps struct {
				Cardproxy struct {
					Vault map[string]any `json:"vault"`
				} `json:"cardproxy"`
			} `json:"apps"`
		}
		if _, golden, _ := strings.Cut(string(raw), goldenSeparator); json.Unmarshal([]byte(golden), &cfg) == nil {
			for k := range cfg.Apps.Cardproxy.Vault {
				inGolden[k] = true
			}
		}
	}
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(readme)[strings.Index(string(readme), "### Global option `cardproxy`"):]
	section = section[:strings.Index(section, "\n### ")]
	var c vault.Config
	for _, o := range c.Options() {
		switch o.Ptr.(type) {
		case *string, *vault.Duration, *bool:
		default:
			t.Errorf("vault option %s: %T has no Caddyfile syntax in vaultOptions", o.Name, o.Ptr)
		}
		if !inGolden[o.Name] {
			t.Errorf("vault option %s is set in no testdata/caddyfile_adapt file", o.Name)
		}
		if !regexp.MustCompile(`\b` + o.Name + `\b`).MatchString(section) {
			t.Errorf("vault option %s is not in README's table of the global option", o.Name)
		}
	}
}

func TestCaddyfileGlobal(t *testing.T) {
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
}

func TestCaddyfileDetokenize(t *testing.T) {
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
		dt.CACert != "/etc/psp-ca.pem" || dt.APIKey != "{env.MSP_API_KEY}" || dt.RelayURL != "https://shop.example/3ds" ||
		time.Duration(dt.RelayTTL) != 5*time.Minute || dt.MaxBody != 256*1024 || time.Duration(dt.Timeout) != 30*time.Second ||
		dt.Tenant != "shop-1" || dt.InsecurePlainHTTPUpstream {
		t.Fatalf("parsed %+v", dt)
	}
	var r ThreeDSRelay
	if err := r.UnmarshalCaddyfile(caddyfile.NewTestDispenser("card_3ds_relay {\n tenant t1\n}")); err != nil || r.Tenant != "t1" {
		t.Fatalf("relay: %v %+v", err, r)
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
