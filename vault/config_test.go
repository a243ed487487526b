package vault

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// The JSON of Config is the "vault" object of the Caddy app: its keys and
// the forms "timeout" takes (a duration string, as caddy.Duration reads it,
// or nanoseconds) are the app's configuration format.
func TestConfigJSON(t *testing.T) {
	in := `{"address":"https://v:8200","token":"{env.T}","token_file":"/f","namespace":"ns","ca_cert":"/ca",
		"client_cert":"/c","client_key":"/k","tls_server_name":"v.internal","kv_mount":"kv","transit_mount":"tr",
		"pan_key":"p","index_key":"i","timeout":"1d2h","auto_setup":true}`
	dec := json.NewDecoder(strings.NewReader(in))
	dec.DisallowUnknownFields()
	var c Config
	if err := dec.Decode(&c); err != nil {
		t.Fatal(err)
	}
	if time.Duration(c.Timeout) != 26*time.Hour || !c.AutoSetup || c.IndexKey != "i" || c.Token != "{env.T}" {
		t.Fatalf("decoded %+v", c)
	}
	for in, want := range map[string]time.Duration{`"10s"`: 10 * time.Second, `3000000000`: 3 * time.Second, `"1.5d"`: 36 * time.Hour} {
		var d Duration
		if err := json.Unmarshal([]byte(in), &d); err != nil || time.Duration(d) != want {
			t.Errorf("%s: %v %v", in, time.Duration(d), err)
		}
	}
	for _, bad := range []string{`"soon"`, `"1x"`, `true`} {
		var d Duration
		if json.Unmarshal([]byte(bad), &d) == nil {
			t.Errorf("%s: no error", bad)
		}
	}
	out, _ := json.Marshal(Config{Timeout: Duration(time.Second), TokenTTL: time.Hour})
	if string(out) != `{"timeout":1000000000}` {
		t.Errorf("marshalled %s", out)
	}
}

// Options lists every JSON key (and no token lifetimes); Resolve reaches
// every string option.
func TestConfigOptionsResolve(t *testing.T) {
	var c Config
	var names []string
	for _, o := range c.Options() {
		names = append(names, o.Name)
		if p, ok := o.Ptr.(*string); ok {
			*p = "{x}"
		}
	}
	if got := strings.Join(names, " "); got != "address token token_file auth_method auth_mount role_id_file secret_id_file secret_id_wrapped role jwt_file "+
		"namespace ca_cert client_cert client_key "+
		"tls_server_name kv_mount transit_mount pan_key index_key cvc_key timeout dedupe_cache index_hmac_in_process auto_setup" {
		t.Fatalf("options: %s", got)
	}
	r := c.Resolve(func(s string) string { return strings.ReplaceAll(s, "{x}", "v") })
	b, _ := json.Marshal(r)
	if strings.Contains(string(b), "{x}") || r.Address != "v" || r.IndexKey != "v" || c.Address != "{x}" {
		t.Fatalf("resolved %s (original %q)", b, c.Address)
	}
}
