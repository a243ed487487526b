// Package vault is cardproxy's token vault on open-source HashiCorp Vault:
// KV v2 holds token records, Transit encrypts card data and computes the keyed
// dedupe index, and response wrapping keeps CVCs and 3-D Secure relays
// single-use and short-lived.
//
// Layout inside Vault (defaults; mounts and key names are configurable):
//
//	<kv>/data/<tenant>/pan/<token>         Transit ciphertext of {token, PAN, expiry, holder}
//	                                        + brand, last 4, BIN, expires_at
//	<kv>/data/<tenant>/idx/<format>/<hmac> token for a card (keyed HMAC of tenant+PAN+expiry+holder), create-only
//	<kv>/data/<tenant>/cvc/<token>         CVC sealed with the cvc key (or its wrapping token), expires_at
//	<kv>/data/<tenant>/relay/<id>          wrapping token of a 3-D Secure relay, expires_at
//	<transit>/keys/pan                     aes256-gcm96, derived (context = tenant)
//	<transit>/keys/pan-index               hmac key, exportable; never rotate casually (dedupe would reset)
//	<transit>/keys/cvc                     aes256-gcm96, exportable: seals CVC entries in process
//
// No PAN or CVC ever appears in a Vault path; Vault's audit log sees tokens and
// HMACs only.
package vault

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Config says how to reach Vault and where cardproxy keeps its data there.
// Empty fields fall back to Vault's standard environment (VAULT_ADDR,
// VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT, VAULT_CLIENT_CERT, …) and then to
// the defaults below.
//
// It is also the "vault" object of the Caddy app's JSON config and the
// Caddyfile's vault { … } block: both set the fields Options lists, by their
// JSON names, and the app resolves placeholders in every string option through
// Resolve. Adding a Vault option is adding a field here (a string, Duration or
// bool, with a json tag); nothing else lists them.
type Config struct {
	Address   string `json:"address,omitempty"`
	Token     string `json:"token,omitempty"`
	TokenFile string `json:"token_file,omitempty"`
	// AuthMethod and its options: how cardproxy logs in to Vault when it
	// is not given a token (auth.go): approle (role_id_file,
	// secret_id_file, secret_id_wrapped), kubernetes (role, jwt_file) or
	// agent (Vault Agent's API proxy adds the token). AuthMount is the
	// auth method's mount path (default: the method's name).
	AuthMethod      string   `json:"auth_method,omitempty"`
	AuthMount       string   `json:"auth_mount,omitempty"`
	RoleIDFile      string   `json:"role_id_file,omitempty"`
	SecretIDFile    string   `json:"secret_id_file,omitempty"`
	SecretIDWrapped bool     `json:"secret_id_wrapped,omitempty"`
	Role            string   `json:"role,omitempty"`
	JWTFile         string   `json:"jwt_file,omitempty"`
	Namespace       string   `json:"namespace,omitempty"`
	CACert          string   `json:"ca_cert,omitempty"`
	ClientCert      string   `json:"client_cert,omitempty"`
	ClientKey       string   `json:"client_key,omitempty"`
	TLSServerName   string   `json:"tls_server_name,omitempty"`
	KVMount         string   `json:"kv_mount,omitempty"`
	TransitMount    string   `json:"transit_mount,omitempty"`
	PANKey          string   `json:"pan_key,omitempty"`
	IndexKey        string   `json:"index_key,omitempty"`
	CVCKey          string   `json:"cvc_key,omitempty"`
	Timeout         Duration `json:"timeout,omitempty"`
	// DedupeCache, when set (e.g. 30s), is how long a repeat card's token
	// is answered from this process's memory without asking Vault. Off by
	// default. See dedupeCache and docs/security.md.
	DedupeCache Duration `json:"dedupe_cache,omitempty"`
	// IndexHMACInProcess computes the dedupe HMAC in process with the index
	// key exported from Transit (one Vault call less per card) instead of
	// asking Transit. Off by default: the key then sits in the ingress's
	// memory (docs/security.md). Setup makes the key exportable and the
	// tokenize policy allows the export only when it is set.
	IndexHMACInProcess bool `json:"index_hmac_in_process,omitempty"`
	// AutoSetup asks the caller to run Setup at start-up: it creates the
	// mounts, keys and policies (needs a token allowed to do so). New does
	// not read it; the Caddy app does. Off by default: production runs
	// `cardproxy vault-init` once with an admin token, then cardproxy with
	// the narrow cardproxy-tokenize / cardproxy-detokenize policies.
	AutoSetup bool `json:"auto_setup,omitempty"`

	// TokenTTL is how long a PAN token lives (default 1 year); CVCTTL how
	// long a CVC token lives if unused (default 10 minutes). They are not
	// Vault connection options: the Caddy app sets them from its own
	// top-level token_ttl and cvc_ttl, so they are not in Options or JSON.
	TokenTTL time.Duration `json:"-"`
	CVCTTL   time.Duration `json:"-"`
}

// Option is one configuration option: its JSON (and Caddyfile) name and a
// pointer to its field, a *string, *Duration or *bool.
type Option struct {
	Name string
	Ptr  any
}

// Options lists c's options in declaration order: every field with a JSON
// name. It is the one list of Vault options the config front ends use.
func (c *Config) Options() []Option {
	v := reflect.ValueOf(c).Elem()
	var opts []Option
	for i := 0; i < v.NumField(); i++ {
		name, _, _ := strings.Cut(v.Type().Field(i).Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		opts = append(opts, Option{Name: name, Ptr: v.Field(i).Addr().Interface()})
	}
	return opts
}

// Resolve returns a copy of c with every string option replaced by
// replace(option): the Caddy app resolves {env.*} and {file.*} placeholders
// with it, so secrets never sit in the JSON config.
func (c Config) Resolve(replace func(string) string) Config {
	for _, o := range c.Options() {
		if p, ok := o.Ptr.(*string); ok {
			*p = replace(*p)
		}
	}
	return c
}

// Duration is a time.Duration that reads from JSON either as integer
// nanoseconds or as a duration string ("10s", "1m30s", and "d" for days as in
// "1d12h"), exactly like caddy.Duration (this package does not import Caddy).
// It is written as integer nanoseconds.
type Duration time.Duration

// UnmarshalJSON reads a duration string or integer nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if len(b) == 0 {
		return io.EOF
	}
	var dur time.Duration
	var err error
	if b[0] == '"' && b[len(b)-1] == '"' {
		dur, err = ParseDuration(strings.Trim(string(b), `"`))
	} else {
		err = json.Unmarshal(b, &dur)
	}
	*d = Duration(dur)
	return err
}

// ParseDuration parses a Go duration string that may also use "d" (24h) as a
// unit, like caddy.ParseDuration.
func ParseDuration(s string) (time.Duration, error) {
	if len(s) > 1024 {
		return 0, fmt.Errorf("parsing duration: input string too long")
	}
	var inNumber bool
	var numStart int
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch == 'd' {
			days, err := strconv.ParseFloat(s[numStart:i], 64)
			if err != nil {
				return 0, err
			}
			s = s[:numStart] + strconv.FormatFloat(days*24, 'f', -1, 64) + "h" + s[i+1:]
			i--
			continue
		}
		if !inNumber {
			numStart = i
		}
		inNumber = (ch >= '0' && ch <= '9') || ch == '.' || ch == '-' || ch == '+'
	}
	return time.ParseDuration(s)
}

// Defaults.
const (
	DefaultKVMount      = "cardproxy"
	DefaultTransitMount = "cardproxy-transit"
	DefaultPANKey       = "pan"
	DefaultIndexKey     = "pan-index"
	DefaultCVCKey       = "cvc"
	DefaultTokenTTL     = 365 * 24 * time.Hour
	DefaultCVCTTL       = 10 * time.Minute
	DefaultTimeout      = 10 * time.Second
	MaxCVCTTL           = time.Hour
)

var (
	namePattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	mountPattern  = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_/-]{0,127}$`)
	tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)
)

// ValidTenant reports whether a tenant name is acceptable (it becomes part
// of Vault paths).
func ValidTenant(t string) bool { return tenantPattern.MatchString(t) }

func (c *Config) withDefaults() Config {
	out := *c
	if out.KVMount == "" {
		out.KVMount = DefaultKVMount
	}
	if out.TransitMount == "" {
		out.TransitMount = DefaultTransitMount
	}
	if out.PANKey == "" {
		out.PANKey = DefaultPANKey
	}
	if out.IndexKey == "" {
		out.IndexKey = DefaultIndexKey
	}
	if out.CVCKey == "" {
		out.CVCKey = DefaultCVCKey
	}
	if out.TokenTTL == 0 {
		out.TokenTTL = DefaultTokenTTL
	}
	if out.CVCTTL == 0 {
		out.CVCTTL = DefaultCVCTTL
	}
	if out.Timeout == 0 {
		out.Timeout = Duration(DefaultTimeout)
	}
	out.KVMount = strings.Trim(out.KVMount, "/")
	out.TransitMount = strings.Trim(out.TransitMount, "/")
	return out
}

// Validate checks a configuration without contacting Vault.
func (c *Config) Validate() error {
	d := c.withDefaults()
	if !mountPattern.MatchString(d.KVMount) || !mountPattern.MatchString(d.TransitMount) {
		return fmt.Errorf("vault: invalid mount path (kv %q, transit %q)", d.KVMount, d.TransitMount)
	}
	if d.KVMount == d.TransitMount {
		return fmt.Errorf("vault: kv_mount and transit_mount must differ")
	}
	if !namePattern.MatchString(d.PANKey) || !namePattern.MatchString(d.IndexKey) || !namePattern.MatchString(d.CVCKey) ||
		d.PANKey == d.IndexKey || d.PANKey == d.CVCKey || d.IndexKey == d.CVCKey {
		return fmt.Errorf("vault: pan_key, index_key and cvc_key must be distinct key names")
	}
	if d.TokenTTL < time.Minute {
		return fmt.Errorf("vault: token_ttl %s is too short (minimum 1m)", d.TokenTTL)
	}
	if d.CVCTTL < time.Second || d.CVCTTL > MaxCVCTTL {
		return fmt.Errorf("vault: cvc_ttl %s out of range (1s to %s; PCI DSS 3.3.1: keep it to minutes)", d.CVCTTL, MaxCVCTTL)
	}
	if d.Token != "" && d.TokenFile != "" {
		return fmt.Errorf("vault: set token or token_file, not both")
	}
	if err := d.validateAuth(); err != nil {
		return err
	}
	if d.Timeout < 0 {
		return fmt.Errorf("vault: negative timeout")
	}
	if d.DedupeCache < 0 || time.Duration(d.DedupeCache) > time.Hour {
		return fmt.Errorf("vault: dedupe_cache %s out of range (0 = off, at most 1h)", time.Duration(d.DedupeCache))
	}
	return nil
}
