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
//	<kv>/data/<tenant>/cvc/<token>         wrapping token of the CVC, expires_at
//	<kv>/data/<tenant>/relay/<id>          wrapping token of a 3-D Secure relay, expires_at
//	<transit>/keys/pan                     aes256-gcm96, derived (context = tenant)
//	<transit>/keys/pan-index               hmac key; never rotate casually (dedupe would reset)
//
// No PAN or CVC ever appears in a Vault path; Vault's audit log sees tokens and
// HMACs only.
package vault

import (
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// Config says how to reach Vault and where cardproxy keeps its data there.
// Empty fields fall back to Vault's standard environment (VAULT_ADDR,
// VAULT_TOKEN, VAULT_NAMESPACE, VAULT_CACERT, VAULT_CLIENT_CERT, …) and then to
// the defaults below.
type Config struct {
	Address       string        `json:"address,omitempty"`
	Token         string        `json:"token,omitempty"`
	TokenFile     string        `json:"token_file,omitempty"`
	Namespace     string        `json:"namespace,omitempty"`
	CACert        string        `json:"ca_cert,omitempty"`
	ClientCert    string        `json:"client_cert,omitempty"`
	ClientKey     string        `json:"client_key,omitempty"`
	TLSServerName string        `json:"tls_server_name,omitempty"`
	KVMount       string        `json:"kv_mount,omitempty"`
	TransitMount  string        `json:"transit_mount,omitempty"`
	PANKey        string        `json:"pan_key,omitempty"`
	IndexKey      string        `json:"index_key,omitempty"`
	Timeout       time.Duration `json:"timeout,omitempty"`

	// TokenTTL is how long a PAN token lives (default 1 year); CVCTTL how
	// long a CVC token lives if unused (default 10 minutes).
	TokenTTL time.Duration `json:"token_ttl,omitempty"`
	CVCTTL   time.Duration `json:"cvc_ttl,omitempty"`
}

// Defaults.
const (
	DefaultKVMount      = "cardproxy"
	DefaultTransitMount = "cardproxy-transit"
	DefaultPANKey       = "pan"
	DefaultIndexKey     = "pan-index"
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
	if out.TokenTTL == 0 {
		out.TokenTTL = DefaultTokenTTL
	}
	if out.CVCTTL == 0 {
		out.CVCTTL = DefaultCVCTTL
	}
	if out.Timeout == 0 {
		out.Timeout = DefaultTimeout
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
	if !namePattern.MatchString(d.PANKey) || !namePattern.MatchString(d.IndexKey) || d.PANKey == d.IndexKey {
		return fmt.Errorf("vault: pan_key and index_key must be distinct key names")
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
	if d.Timeout < 0 {
		return fmt.Errorf("vault: negative timeout")
	}
	return nil
}

// newClient builds the Vault API client from the standard environment
// overlaid with the config.
func newClient(c Config) (*api.Client, *tokenFile, error) {
	vc := api.DefaultConfig()
	if vc.Error != nil {
		return nil, nil, fmt.Errorf("vault: reading environment: %w", vc.Error)
	}
	if c.Address != "" {
		vc.Address = c.Address
	}
	vc.Timeout = c.Timeout
	if c.CACert != "" || c.ClientCert != "" || c.TLSServerName != "" {
		if err := vc.ConfigureTLS(&api.TLSConfig{
			CACert:        c.CACert,
			ClientCert:    c.ClientCert,
			ClientKey:     c.ClientKey,
			TLSServerName: c.TLSServerName,
		}); err != nil {
			return nil, nil, fmt.Errorf("vault: TLS config: %w", err)
		}
	}
	client, err := api.NewClient(vc)
	if err != nil {
		return nil, nil, fmt.Errorf("vault: %w", err)
	}
	if c.Namespace != "" {
		client.SetNamespace(c.Namespace)
	}
	// No response is wrapped implicitly: Store.wrap sets the wrap TTL on each
	// sys/wrapping/wrap request itself (CVC and 3-D Secure relay lifetimes
	// differ, per call). This also shields every call from a stray
	// VAULT_WRAP_TTL in the environment.
	client.SetWrappingLookupFunc(func(op, path string) string { return "" })
	var tf *tokenFile
	switch {
	case c.Token != "":
		client.SetToken(c.Token)
	case c.TokenFile != "":
		tf = &tokenFile{path: c.TokenFile, client: client}
		if err := tf.load(true); err != nil {
			return nil, nil, err
		}
	}
	if client.Token() == "" {
		return nil, nil, fmt.Errorf("vault: no token: set token, token_file or VAULT_TOKEN")
	}
	return client, tf, nil
}

// tokenFile re-reads a Vault token written by Vault Agent (or any rotation
// mechanism) when the file changes, and on demand after a 403.
type tokenFile struct {
	path   string
	client *api.Client

	mu      sync.Mutex
	modTime time.Time
	checked time.Time
}

func (t *tokenFile) load(force bool) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := time.Now()
	if !force && now.Sub(t.checked) < time.Second {
		return nil
	}
	t.checked = now
	st, err := os.Stat(t.path)
	if err != nil {
		return fmt.Errorf("vault: token_file: %w", err)
	}
	if !force && st.ModTime().Equal(t.modTime) {
		return nil
	}
	b, err := os.ReadFile(t.path)
	if err != nil {
		return fmt.Errorf("vault: token_file: %w", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return fmt.Errorf("vault: token_file %s is empty", t.path)
	}
	t.modTime = st.ModTime()
	t.client.SetToken(tok)
	return nil
}

// refresh is called before each operation (cheap: at most one stat a second).
func (t *tokenFile) refresh() {
	if t == nil {
		return
	}
	_ = t.load(false)
}
