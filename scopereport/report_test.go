package scopereport

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

const sampleLog = `{"level":"info","ts":1795700000.5,"logger":"http.log.access","msg":"handled request","uri":"/"}
{"level":"info","ts":1795700001.0,"logger":"cardproxy.audit","msg":"tokenized request","event":"tokenize","side":"ingress","tenant":"shop","vault_identity":"ingress","uri":"/checkout?x=1","cards":1,"cvcs":1,"reused":0,"fields":["card_number","cvc"],"tokens":["cp_pan_AAAAAAAAAAAAAAAAAAAAAAAA","cp_cvc_AAAAAAAAAAAAAAAAAAAAAAAA"]}
{"level":"info","ts":1795700002.0,"logger":"cardproxy.audit","msg":"detokenized","event":"detokenize","side":"egress","vault_identity":"egress","kind":"pan","result":"ok","route":"/v1/json/orders","upstream":"testapi.multisafepay.com"}
{"level":"info","ts":1795700002.1,"logger":"cardproxy.audit","msg":"detokenized","event":"cvc_use","side":"egress","vault_identity":"egress","kind":"cvc","result":"ok","route":"/v1/json/orders","upstream":"testapi.multisafepay.com"}
{"level":"warn","ts":1795700003.0,"logger":"cardproxy.audit","msg":"card request refused","event":"refuse","side":"ingress","vault_identity":"ingress","code":"card_number_in_text","uri":"/checkout"}
{"level":"info","ts":1795700004.0,"logger":"cardproxy.audit","msg":"3-D Secure relay served","event":"relay_serve","side":"relay","vault_identity":"ingress"}
{"level":"info","ts":1795709999.0,"logger":"cardproxy.audit","msg":"tokenized request","event":"tokenize","side":"ingress","vault_identity":"ingress","uri":"/checkout","cards":1,"fields":["card_number"],"reused":1}
`

func TestBuild(t *testing.T) {
	r, err := Build(strings.NewReader(sampleLog), time.Time{}, time.Unix(1795709000, 0), time.Unix(1795710000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if r.Events != 5 || r.TokenizeReqs != 1 || r.TokensIssued.PAN != 1 || r.TokensIssued.CVC != 1 || r.CVCsUsed != 1 ||
		r.CardDataRefused != 1 || r.CardDataForwarded != 0 || r.Relays.Served != 1 {
		t.Fatalf("counts: %+v", r)
	}
	if len(r.FieldsTokenized) != 2 || r.FieldsTokenized[0] != (FieldCount{"/checkout", "card_number", 1}) {
		t.Fatalf("fields: %+v", r.FieldsTokenized)
	}
	if len(r.Detokenizations) != 2 || r.Detokenizations[0].Upstream != "testapi.multisafepay.com" {
		t.Fatalf("detokenizations: %+v", r.Detokenizations)
	}
	if len(r.Controls) != 6 || r.VaultIdentities["egress"][0] != "egress" {
		t.Fatalf("controls/identities: %+v %+v", r.Controls, r.VaultIdentities)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, r); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(r)
	for what, out := range map[string]string{"JSON": string(b), "HTML": page.String()} {
		if strings.Contains(out, "cp_pan_") || strings.Contains(out, "cp_cvc_") {
			t.Errorf("the %s report lists tokens", what)
		}
	}
	if !strings.Contains(page.String(), `<svg id="dataflow"`) || strings.Contains(page.String(), "<script") || strings.Contains(page.String(), "http://") && !strings.Contains(page.String(), "www.w3.org") {
		t.Error("the page is not self-contained with its data-flow SVG")
	}
	// Lines it cannot read are counted, not fatal; nothing from the log
	// reaches the report unmasked or unbounded.
	odd := "not json\n" + `{"logger":"cardproxy.audit","ts":"2026-11-26"}` + "\n" +
		`{"level":"info","ts":1795700001.0,"logger":"cardproxy.audit","event":"detokenize","side":"egress","kind":"pan","result":"unknown","route":"/v1/json/orders/4111111111111111","upstream":"psp"}` + "\n" +
		`{"logger":"cardproxy.audit","event":"tokenize","fields":["` + strings.Repeat("\u0001", 300000) + `"]}` + "\n" +
		`{"logger":"cardproxy.audit","ts":1795700002.0,"event":"tokenize","cards":1,"uri":"/c","fields":["` + strings.Repeat("n", 500) + `"]}` + "\n" +
		`{"logger":"cardproxy.audit","ts":1795700003.0,"event":"refuse","code":"psp_unreachable","side":"egress"}` // no newline: cut
	r, err = Build(strings.NewReader(odd), time.Time{}, time.Time{}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, _ = json.Marshal(r)
	if r.SkippedLines != 3 || r.Events != 3 || strings.Contains(string(b), "4111111111111111") || len(r.FieldsTokenized[0].Field) > 200 {
		t.Fatalf("odd lines: skipped %d, events %d: %.300s", r.SkippedLines, r.Events, b)
	}
}

func TestConfigFromJSON(t *testing.T) {
	cfg := `{"admin":{"listen":"unix//run/cardproxy/admin.sock|0600"},"apps":{"cardproxy":{"vault":{"address":"https://u:pw@v:8200/x, {env.VAULT_ADDR}","token_file":"/secret"},
"egress_vault":{"auth_method":"approle","role_id_file":"/r","secret_id_file":"/s"}},
"http":{"servers":{"srv0":{"listen":[":8080"],"routes":[{"handle":[{"handler":"subroute","routes":[{"handle":[{"handler":"card_tokenize","pan":["card_number"],"cvc":["cvc"]}]}]}]}]},
"srv1":{"listen":["127.0.0.1:8081"],"routes":[{"handle":[{"handler":"card_detokenize","upstream":"https://user:pw@testapi.multisafepay.com/v1","preset":"multisafepay","api_key":"{env.MSP_API_KEY}"}]}]}}}}}`
	c, err := ConfigFromJSON([]byte(cfg))
	if err != nil {
		t.Fatal(err)
	}
	if c.Admin != "unix socket /run/cardproxy/admin.sock|0600" || c.Vault.Address != "https://v:8200,{env.VAULT_ADDR}" || len(c.Ingress) != 1 || !c.Ingress[0].AutoDetect ||
		len(c.Egress) != 1 || c.Egress[0].Upstream != "https://testapi.multisafepay.com" || !c.Egress[0].KeyInjected ||
		c.Vault.Identities["ingress"] != "shared: token file" || c.Vault.Identities["egress"] != "own: auth_method approle" {
		t.Fatalf("%+v", c)
	}
	b, _ := json.Marshal(c)
	if strings.Contains(string(b), "pw") || strings.Contains(string(b), "/secret") || strings.Contains(string(b), "MSP_API_KEY") {
		t.Fatalf("the configuration summary holds a secret or where it lives: %s", b)
	}
}
