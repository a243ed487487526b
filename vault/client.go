package vault

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// Addresses are the Vault nodes of a config: its address, which may list
// several nodes of one cluster separated by commas, or VAULT_ADDR.
func (c Config) Addresses() []string {
	var out []string
	for _, a := range strings.Split(c.Address, ",") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// newClients builds one Vault API client per node, from the standard
// environment overlaid with the config. They share the token. The clients
// never retry by themselves (MaxRetries 0): the node pool retries on
// another node, and a write whose answer was lost is read back (exact.go).
func newClients(c Config) ([]*api.Client, credentials, error) {
	addrs := c.Addresses()
	if len(addrs) == 0 {
		addrs = []string{""} // VAULT_ADDR, or Vault's default
	}
	var clients []*api.Client
	for _, addr := range addrs {
		client, err := newClient(c, addr)
		if err != nil {
			return nil, nil, err
		}
		clients = append(clients, client)
	}
	setToken := func(tok string) {
		for _, cl := range clients {
			cl.SetToken(tok)
		}
	}
	switch {
	case c.AuthMethod == AuthAgent:
		for _, cl := range clients {
			cl.ClearToken() // not even VAULT_TOKEN: the agent adds its own
		}
		return clients, nil, nil
	case c.AuthMethod != AuthToken:
		// The store logs in on first use (auth.go).
		for _, cl := range clients {
			cl.ClearToken()
		}
		return clients, &login{cfg: c, setToken: setToken}, nil
	case c.Token != "":
		setToken(c.Token)
	case c.TokenFile != "":
		tf := &tokenFile{path: c.TokenFile, setToken: setToken}
		if err := tf.load(true); err != nil {
			return nil, nil, err
		}
		return clients, tf, nil
	default:
		setToken(clients[0].Token()) // VAULT_TOKEN
	}
	if clients[0].Token() == "" {
		return nil, nil, fmt.Errorf("vault: no token: set token, token_file, auth_method or VAULT_TOKEN")
	}
	return clients, nil, nil
}

// MaxIdleConnsPerNode is how many idle connections cardproxy keeps to each
// Vault node.
const MaxIdleConnsPerNode = 128

// newClient is the API client of one node (addr "": VAULT_ADDR).
func newClient(c Config, addr string) (*api.Client, error) {
	vc := api.DefaultConfig()
	if vc.Error != nil {
		return nil, fmt.Errorf("vault: reading environment: %w", vc.Error)
	}
	if addr != "" {
		vc.Address = addr
	}
	vc.MaxRetries = 0
	vc.Timeout = time.Duration(c.Timeout)
	if tr, ok := vc.HttpClient.Transport.(*http.Transport); ok {
		// The api package keeps GOMAXPROCS+1 idle connections per node: under
		// load most calls would open a new one. Keep enough for the
		// concurrency a card route sees.
		tr.MaxIdleConnsPerHost = MaxIdleConnsPerNode
		tr.MaxIdleConns = 4 * MaxIdleConnsPerNode
	}
	if c.CACert != "" || c.ClientCert != "" || c.TLSServerName != "" {
		if err := vc.ConfigureTLS(&api.TLSConfig{
			CACert:        c.CACert,
			ClientCert:    c.ClientCert,
			ClientKey:     c.ClientKey,
			TLSServerName: c.TLSServerName,
		}); err != nil {
			return nil, fmt.Errorf("vault: TLS config: %w", err)
		}
	}
	client, err := api.NewClient(vc)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	if c.Namespace != "" {
		client.SetNamespace(c.Namespace)
	}
	// No response is wrapped implicitly: Store.wrap sets the wrap TTL on each
	// sys/wrapping/wrap request itself (CVC and 3-D Secure relay lifetimes
	// differ, per call). This also shields every call from a stray
	// VAULT_WRAP_TTL in the environment.
	client.SetWrappingLookupFunc(func(op, path string) string { return "" })
	return client, nil
}

// tokenFile re-reads a Vault token written by Vault Agent (or any rotation
// mechanism) when the file changes, and on demand after a 403.
type tokenFile struct {
	path     string
	setToken func(string)

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
	t.setToken(tok)
	return nil
}

// refresh is called before each operation (cheap: at most one stat a
// second). A file that cannot be read now keeps the token read before.
func (t *tokenFile) refresh(context.Context) error {
	_ = t.load(false)
	return nil
}

// forbidden re-reads the file after a 403 (the agent may have rotated the
// token).
func (t *tokenFile) forbidden(context.Context) bool { return t.load(true) == nil }
