package vault

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/internal/faultproxy"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/token"
	"github.com/hashicorp/vault/api"
)

// enableAuth mounts an auth method of this type at a fresh path.
func enableAuth(t *testing.T, root *Store, typ string) string {
	t.Helper()
	mount := typ + "-" + tenant()
	if err := root.Client().Sys().EnableAuthWithOptions(mount, &api.EnableAuthOptions{Type: typ}); err != nil {
		t.Fatal(err)
	}
	return mount
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// appRole creates a role with these policies and token lifetimes and
// returns its role id and a new secret id (wrapped for wrapTTL > 0).
func appRole(t *testing.T, root *Store, mount string, policies []string, ttl, maxTTL string, wrapTTL string) (string, string) {
	t.Helper()
	c := root.Client()
	if _, err := c.Logical().Write("auth/"+mount+"/role/cardproxy", map[string]any{
		"token_policies": policies, "token_ttl": ttl, "token_max_ttl": maxTTL, "token_no_default_policy": true,
	}); err != nil {
		t.Fatal(err)
	}
	sec, err := c.Logical().Read("auth/" + mount + "/role/cardproxy/role-id")
	if err != nil {
		t.Fatal(err)
	}
	roleID := str(sec.Data, "role_id")
	hdr := http.Header{}
	if wrapTTL != "" {
		hdr.Set("X-Vault-Wrap-TTL", wrapTTL)
	}
	sec, err = c.Logical().WriteWithRequest(context.Background(), api.NewLogicalWriteRequest("auth/"+mount+"/role/cardproxy/secret-id", nil, hdr))
	if err != nil {
		t.Fatal(err)
	}
	if wrapTTL != "" {
		return roleID, sec.WrapInfo.Token
	}
	return roleID, str(sec.Data, "secret_id")
}

func tokenizeOK(t *testing.T, s *Store, tn string) {
	t.Helper()
	if _, err := s.Tokenize(context.Background(), tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); err != nil {
		t.Fatalf("tokenize: %v", err)
	}
}

// AppRole: cardproxy logs in, renews its token at half its lease, logs in
// again at the max TTL — requests never fail on the way — and logs in again
// when its token is revoked under it.
func TestAppRoleLoginRenewRelogin(t *testing.T) {
	root := newStore(t)
	mount := enableAuth(t, root, "approle")
	roleID, secretID := appRole(t, root, mount, []string{PolicyTokenize}, "2s", "5s", "")
	s, err := New(Config{Address: srv.Addr, AuthMethod: AuthAppRole, AuthMount: mount,
		RoleIDFile: writeFile(t, "role-id", roleID), SecretIDFile: writeFile(t, "secret-id", secretID+"\n")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	tn := tenant()
	s.OnState(func(st State, err error) { t.Logf("state %s: %v", st, err) })
	l := s.creds.(*login)
	tokens := map[string]bool{}
	renewed := false
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		tokenizeOK(t, s, tn)
		l.mu.Lock()
		tokens[l.token] = true
		renewed = renewed || l.issued.Sub(l.lastLogin) > 500*time.Millisecond
		l.mu.Unlock()
	}
	if !renewed || len(tokens) < 2 {
		t.Fatalf("over 8 s with a 2 s TTL and a 5 s max TTL: renewed %v, %d tokens (want renewals and a new login)", renewed, len(tokens))
	}
	l.mu.Lock()
	tok := l.token
	l.mu.Unlock()
	if err := root.Client().Auth().Token().RevokeTree(tok); err != nil {
		t.Fatal(err)
	}
	tokenizeOK(t, s, tn) // 403, log in again, retry
	// The tokenize identity cannot detokenize.
	toks, err := root.Tokenize(context.Background(), tn, token.FormatOpaque, []card.Card{{PAN: "5555555555554444"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Detokenize(context.Background(), tn, toks[0].Token); !errors.Is(err, ErrForbidden) {
		t.Fatalf("tokenize-only identity detokenized: %v", err)
	}
}

// A response-wrapped secret id is unwrapped once and kept for later logins;
// wrong credentials fail closed as ErrForbidden, with the state unauthorized.
func TestAppRoleWrappedSecretIDAndRefusal(t *testing.T) {
	root := newStore(t)
	mount := enableAuth(t, root, "approle")
	roleID, wrapped := appRole(t, root, mount, []string{PolicyTokenize}, "1h", "2h", "60s")
	s, err := New(Config{Address: srv.Addr, AuthMethod: AuthAppRole, AuthMount: mount, SecretIDWrapped: true,
		RoleIDFile: writeFile(t, "role-id", roleID), SecretIDFile: writeFile(t, "secret-id", wrapped)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	tn := tenant()
	tokenizeOK(t, s, tn)
	l := s.creds.(*login)
	l.mu.Lock()
	tok := l.token
	l.lastLogin = time.Time{}
	l.mu.Unlock()
	if err := root.Client().Auth().Token().RevokeTree(tok); err != nil {
		t.Fatal(err)
	}
	tokenizeOK(t, s, tn) // logs in again with the secret id it unwrapped before

	var states []State
	bad, err := New(Config{Address: srv.Addr, AuthMethod: AuthAppRole, AuthMount: mount,
		RoleIDFile: writeFile(t, "role-id", roleID), SecretIDFile: writeFile(t, "secret-id", "not-the-secret")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(bad.Close)
	bad.OnState(func(st State, _ error) { states = append(states, st) })
	_, err = bad.Tokenize(context.Background(), tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	if !errors.Is(err, ErrForbidden) || !errors.Is(err, ErrUnavailable) || strings.Contains(err.Error(), "not-the-secret") {
		t.Fatalf("wrong secret id: %v", err)
	}
	if len(states) != 1 || states[0] != StateUnauthorized {
		t.Fatalf("states %v, want [unauthorized]", states)
	}
}

// Kubernetes auth against a real Vault: the pod's service-account JWT is
// minted here and signed with a key generated here, whose public half Vault
// is given (pem_keys); the stand-in for the Kubernetes API answers Vault's
// TokenReview for exactly that JWT.
func TestKubernetesLogin(t *testing.T) {
	root := newStore(t)
	mount := enableAuth(t, root, "kubernetes")
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	jwt := mintJWT(t, key, map[string]any{
		"iss": "kubernetes/serviceaccount", "sub": "system:serviceaccount:shop:cardproxy",
		"kubernetes.io/serviceaccount/namespace":            "shop",
		"kubernetes.io/serviceaccount/service-account.name": "cardproxy",
		"kubernetes.io/serviceaccount/service-account.uid":  "uid-cardproxy",
	})
	kube := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var review struct {
			Spec struct{ Token string } `json:"spec"`
		}
		_ = json.NewDecoder(r.Body).Decode(&review)
		ok := r.URL.Path == "/apis/authentication.k8s.io/v1/tokenreviews" && review.Spec.Token == jwt
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
			"status": map[string]any{"authenticated": ok, "user": map[string]any{
				"username": "system:serviceaccount:shop:cardproxy", "uid": "uid-cardproxy"}}})
	}))
	t.Cleanup(kube.Close)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	c := root.Client()
	if _, err := c.Logical().Write("auth/"+mount+"/config", map[string]any{
		"kubernetes_host": kube.URL, "disable_local_ca_jwt": true,
		"pem_keys": []string{string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Logical().Write("auth/"+mount+"/role/cardproxy-egress", map[string]any{
		"bound_service_account_names": "cardproxy", "bound_service_account_namespaces": "shop",
		"token_policies": PolicyDetokenize, "token_no_default_policy": true, "token_ttl": "1h",
	}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Address: srv.Addr, AuthMethod: AuthKubernetes, AuthMount: mount, Role: "cardproxy-egress",
		JWTFile: writeFile(t, "token", jwt)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	tn := tenant()
	toks, err := root.Tokenize(context.Background(), tn, token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.Detokenize(context.Background(), tn, toks[0].Token); err != nil || got.PAN != "4111111111111111" {
		t.Fatalf("detokenize as the kubernetes identity: %v", err)
	}
	// The detokenize identity cannot tokenize.
	if _, err := s.Tokenize(context.Background(), tn, token.FormatOpaque, []card.Card{{PAN: "5555555555554444"}}); !errors.Is(err, ErrForbidden) {
		t.Fatalf("detokenize-only identity tokenized: %v", err)
	}
	// Another service account's JWT (the role binds the name) is refused.
	other := mintJWT(t, key, map[string]any{
		"iss": "kubernetes/serviceaccount", "kubernetes.io/serviceaccount/namespace": "shop",
		"kubernetes.io/serviceaccount/service-account.name": "app",
		"kubernetes.io/serviceaccount/service-account.uid":  "uid-app",
	})
	app, err := New(Config{Address: srv.Addr, AuthMethod: AuthKubernetes, AuthMount: mount, Role: "cardproxy-egress",
		JWTFile: writeFile(t, "token", other)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(app.Close)
	if _, err := app.Detokenize(context.Background(), tn, toks[0].Token); !errors.Is(err, ErrForbidden) {
		t.Fatalf("the app's service account logged in as cardproxy: %v", err)
	}
}

// mintJWT signs claims with ES256.
func mintJWT(t *testing.T, key *ecdsa.PrivateKey, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	claims["iat"] = time.Now().Unix()
	claims["exp"] = time.Now().Add(time.Hour).Unix()
	signing := enc(map[string]string{"alg": "ES256", "typ": "JWT"}) + "." + enc(claims)
	sum := sha256.Sum256([]byte(signing))
	r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return signing + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// Configurations that cannot work are refused before any Vault call.
func TestAuthConfigValidation(t *testing.T) {
	for _, c := range []Config{
		{AuthMethod: "ldap"},
		{AuthMethod: AuthAppRole, RoleIDFile: "r"},
		{AuthMethod: AuthAppRole, RoleIDFile: "r", SecretIDFile: "s", Token: "t"},
		{AuthMethod: AuthKubernetes},
		{AuthMethod: AuthKubernetes, Role: "r", RoleIDFile: "x"},
		{AuthMethod: AuthAgent, TokenFile: "f"},
		{RoleIDFile: "r"},
	} {
		if err := c.Validate(); err == nil {
			t.Errorf("accepted %+v", c)
		}
	}
	for _, c := range []Config{
		{AuthMethod: AuthAppRole, RoleIDFile: "r", SecretIDFile: "s", SecretIDWrapped: true},
		{AuthMethod: AuthKubernetes, Role: "r"},
		{AuthMethod: AuthAgent},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("refused %+v: %v", c, err)
		}
	}
}

// auth_method agent: cardproxy sends no token; Vault Agent's API proxy logs
// in (AppRole here) and adds its own.
func TestAgentNoToken(t *testing.T) {
	t.Setenv("VAULT_TOKEN", srv.Token) // must not be sent: the agent's token is
	root := newStore(t)
	// The agent logs in at auth/approle (its default mount).
	if err := root.Client().Sys().EnableAuthWithOptions("approle", &api.EnableAuthOptions{Type: "approle"}); err != nil &&
		!strings.Contains(err.Error(), "path is already in use") {
		t.Fatal(err)
	}
	roleID, secretID := appRole(t, root, "approle", []string{PolicyTokenize}, "1h", "2h", "")
	agent := vaulttest.StartAgent(t, srv.Addr, writeFile(t, "role-id", roleID), writeFile(t, "secret-id", secretID))
	s, err := New(Config{Address: agent, AuthMethod: AuthAgent})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	if s.Client().Token() != "" {
		t.Fatal("auth_method agent: the client holds a token")
	}
	tn := tenant()
	tokenizeOK(t, s, tn)
	// The agent's identity is the tokenize policy, not root: no detokenize.
	toks, err := root.Tokenize(context.Background(), tn, token.FormatOpaque, []card.Card{{PAN: "5555555555554444"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Detokenize(context.Background(), tn, toks[0].Token); !errors.Is(err, ErrForbidden) {
		t.Fatalf("through the agent with a tokenize identity, detokenize: %v", err)
	}
}

// An identity takes only credential options, and replaces all of them.
func TestWithIdentity(t *testing.T) {
	base := Config{Address: "https://v:8200", Token: "shared", KVMount: "kv", IndexHMACInProcess: true}
	got, err := base.WithIdentity(Config{AuthMethod: AuthAppRole, RoleIDFile: "r", SecretIDFile: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Token != "" || got.AuthMethod != AuthAppRole || got.RoleIDFile != "r" || got.Address != base.Address ||
		got.KVMount != "kv" || !got.IndexHMACInProcess || got.Validate() != nil {
		t.Fatalf("identity applied: %+v", got)
	}
	for _, bad := range []Config{{KVMount: "other"}, {Address: "https://elsewhere"}, {Timeout: Duration(time.Second)}, {IndexHMACInProcess: true}} {
		if _, err := base.WithIdentity(bad); err == nil {
			t.Errorf("identity with %+v accepted", bad)
		}
	}
}

// A burst of requests while Vault refuses the credentials is not a burst of
// logins: a refused login is answered from memory for a second.
func TestLoginRefusedNoStorm(t *testing.T) {
	root := newStore(t)
	mount := enableAuth(t, root, "approle")
	roleID, _ := appRole(t, root, mount, []string{PolicyTokenize}, "1h", "2h", "")
	proxy := faultproxy.Start(t, srv.Addr)
	s, err := New(Config{Address: proxy.URL(), AuthMethod: AuthAppRole, AuthMount: mount,
		RoleIDFile: writeFile(t, "role-id", roleID), SecretIDFile: writeFile(t, "secret-id", "revoked-or-wrong")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	var refused atomic.Int32
	atOnce(100, func(int) {
		if _, err := s.Tokenize(context.Background(), tenant(), token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); errors.Is(err, ErrForbidden) {
			refused.Add(1)
		}
	})
	if refused.Load() != 100 {
		t.Fatalf("%d of 100 requests refused as vault_auth_failed", refused.Load())
	}
	if n := proxy.Stats().Requests; n > 3 {
		t.Fatalf("100 requests with refused credentials made %d Vault requests (logins)", n)
	}
}
