package scopereport

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// Config is the configuration in force, as the report shows it: where card
// data enters and leaves, who cardproxy is to Vault, and whether anything
// else can change that (the admin API). Never a secret: credentials are
// named by kind only.
type Config struct {
	Admin   string         `json:"admin"`
	Ingress []IngressRoute `json:"ingress"`
	Egress  []EgressRoute  `json:"egress"`
	Relays  []string       `json:"relay_servers"`
	Vault   VaultConfig    `json:"vault"`
}

// IngressRoute is one card_tokenize.
type IngressRoute struct {
	Server string `json:"server"`
	// AutoDetect: any other card number in the body is tokenized too.
	AutoDetect bool     `json:"auto_detect"`
	Listen     []string `json:"listen"`
	// Fields are the field names (JSON paths or form names) the route's
	// config gives each role: "pan", "cvc".
	Fields map[string][]string `json:"fields"`
	// BindUpstream: the PSP hosts its PAN tokens are bound to.
	BindUpstream []string `json:"bind_upstream,omitempty"`
}

// EgressRoute is one card_detokenize.
type EgressRoute struct {
	Server      string   `json:"server"`
	Listen      []string `json:"listen"`
	Upstream    string   `json:"upstream"`
	Preset      string   `json:"preset,omitempty"`
	KeyInjected bool     `json:"key_injected"`
}

// VaultConfig names Vault and the identity each side uses.
type VaultConfig struct {
	Address    string            `json:"address"`
	Identities map[string]string `json:"identities"`
}

// ConfigFromJSON summarizes a Caddy JSON config (`cardproxy adapt` output).
func ConfigFromJSON(raw []byte) (*Config, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, fmt.Errorf("scope-report: config: %v", err)
	}
	c := &Config{Admin: "TCP localhost:2019 (Caddy's default)", Vault: VaultConfig{Identities: map[string]string{}}}
	if a, ok := doc["admin"].(map[string]any); ok {
		switch {
		case a["disabled"] == true:
			c.Admin = "off"
		case a["listen"] != nil:
			l := fmt.Sprint(a["listen"])
			c.Admin = "TCP " + l
			if strings.HasPrefix(l, "unix/") {
				c.Admin = "unix socket " + strings.TrimPrefix(l, "unix/")
			}
		}
	}
	apps, _ := doc["apps"].(map[string]any)
	if cp, ok := apps["cardproxy"].(map[string]any); ok {
		v, _ := cp["vault"].(map[string]any)
		c.Vault.Address = hostsOnly(str(v["address"]))
		kind := credentialKind(v)
		for _, side := range []string{"ingress", "egress"} {
			c.Vault.Identities[side] = "shared: " + kind
			if own, ok := cp[side+"_vault"].(map[string]any); ok {
				c.Vault.Identities[side] = "own: " + credentialKind(own)
			}
		}
	}
	httpApp, _ := apps["http"].(map[string]any)
	servers, _ := httpApp["servers"].(map[string]any)
	names := make([]string, 0, len(servers))
	for n := range servers {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		srv, _ := servers[name].(map[string]any)
		listen := strs(srv["listen"])
		walk(srv, func(h map[string]any) {
			switch h["handler"] {
			case "card_tokenize":
				c.Ingress = append(c.Ingress, IngressRoute{Server: name, Listen: listen, AutoDetect: h["auto_detect"] != false,
					Fields: map[string][]string{"pan": strs(h["pan"]), "cvc": strs(h["cvc"])}, BindUpstream: strs(h["bind_upstream"])})
			case "card_detokenize":
				up := hostsOnly(str(h["upstream"]))
				c.Egress = append(c.Egress, EgressRoute{Server: name, Listen: listen, Upstream: up, Preset: str(h["preset"]),
					KeyInjected: str(h["api_key"]) != ""})
			case "card_3ds_relay":
				c.Relays = append(c.Relays, name)
			}
		})
	}
	return c, nil
}

// credentialKind names how an identity authenticates, never with what.
func credentialKind(v map[string]any) string {
	switch {
	case str(v["auth_method"]) != "":
		return "auth_method " + str(v["auth_method"])
	case str(v["token_file"]) != "":
		return "token file"
	case str(v["token"]) != "":
		return "token"
	}
	return "VAULT_TOKEN from the environment"
}

// walk calls f for every handler object below v.
func walk(v any, f func(map[string]any)) {
	switch x := v.(type) {
	case map[string]any:
		if _, ok := x["handler"]; ok {
			f(x)
		}
		for _, e := range x {
			walk(e, f)
		}
	case []any:
		for _, e := range x {
			walk(e, f)
		}
	}
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

func strs(v any) []string {
	var out []string
	for _, e := range asSlice(v) {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

// hostsOnly keeps scheme and host of each comma-separated URL (never a
// path, query or userinfo); a placeholder stays as it is, anything else is
// "(unparseable)".
func hostsOnly(s string) string {
	var out []string
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		switch u, err := url.Parse(a); {
		case a == "":
		case strings.HasPrefix(a, "{") && strings.HasSuffix(a, "}") && !strings.ContainsAny(a, "@/"):
			out = append(out, a)
		case err == nil && u.Host != "" && (u.Scheme == "https" || u.Scheme == "http"):
			out = append(out, u.Scheme+"://"+u.Host)
		default:
			out = append(out, "(unparseable)")
		}
	}
	return strings.Join(out, ",")
}
