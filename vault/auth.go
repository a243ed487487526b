package vault

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"reflect"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// How cardproxy gets its Vault token (auth_method):
//
//	""          a static token (token, VAULT_TOKEN) or a token file written by
//	            Vault Agent (token_file, re-read when it changes and after a 403)
//	approle     logs in with a role id and a secret id read from files
//	            (secret_id_file may hold a response-wrapping token of the secret
//	            id: secret_id_wrapped)
//	kubernetes  logs in with the pod's service-account JWT (jwt_file) and a role
//	agent       no token at all: Vault Agent's or Vault Proxy's API proxy
//	            (use_auto_auth_token) adds its own to every request
//
// A token cardproxy logged in for is renewed at half its lease; when Vault
// refuses to renew it, when it nears its max TTL or when Vault answers 403,
// cardproxy logs in again. Meanwhile card requests fail closed (503
// vault_auth_failed, or vault_unavailable): every login is bounded by the
// operation's timeout, nothing waits for Vault without limit.

// Auth methods.
const (
	AuthToken      = ""
	AuthAppRole    = "approle"
	AuthKubernetes = "kubernetes"
	AuthAgent      = "agent"
)

// DefaultJWTFile is where Kubernetes mounts a pod's service-account token.
const DefaultJWTFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"

// credentials is where a store's token comes from, beyond a static one.
type credentials interface {
	// refresh runs before each operation: cheap unless the token must
	// be (re)obtained.
	refresh(ctx context.Context) error
	// forbidden runs after Vault answered 403: it gets another token
	// (re-read, log in again) and reports whether retrying makes sense.
	forbidden(ctx context.Context) bool
}

// login is an auth method cardproxy logs in with.
type login struct {
	cfg      Config
	nodes    *nodes
	setToken func(string)
	now      func() time.Time

	mu        sync.Mutex
	token     string
	issued    time.Time
	expires   time.Time // zero: the token does not expire
	renewable bool
	lease     time.Duration
	renewing  bool
	lastLogin time.Time
	secretID  cachedUnwrap
	// A refused or failed login is answered from here for loginBackoff,
	// and renewal of a still-good token is not retried sooner than that:
	// a burst of requests must not become a burst of logins (each one a
	// TokenReview on the Kubernetes API with auth_method kubernetes).
	failedAt   time.Time
	failErr    error
	renewAfter time.Time
}

// loginBackoff is how long a failed login is not retried.
const loginBackoff = time.Second

// cachedUnwrap is a secret id unwrapped from a file's wrapping token: a
// wrapping token unwraps once, so the result is kept for later logins
// until the file holds another one.
type cachedUnwrap struct{ wrapped, secretID string }

func (l *login) refresh(ctx context.Context) error {
	l.mu.Lock()
	now := l.now()
	if l.token == "" || (!l.expires.IsZero() && !now.Before(l.expires)) {
		defer l.mu.Unlock()
		return l.loginLocked(ctx)
	}
	half := l.issued.Add(l.expires.Sub(l.issued) / 2)
	if l.expires.IsZero() || l.renewing || now.Before(half) || now.Before(l.renewAfter) {
		l.mu.Unlock()
		return nil
	}
	// Past half its lease: this caller renews (or logs in again); the
	// others go on with the token, which is still good.
	l.renewing = true
	l.mu.Unlock()
	err := l.renew(ctx)
	l.mu.Lock()
	l.renewing = false
	if err != nil && l.now().Before(l.expires) {
		l.renewAfter = l.now().Add(2 * loginBackoff)
		err = nil // still good: try again a little later
	}
	l.mu.Unlock()
	return err
}

func (l *login) forbidden(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.now().Sub(l.lastLogin) < time.Second {
		return true // another call just logged in: retry with its token
	}
	return l.loginLocked(ctx) == nil
}

// renew renews the token; when Vault refuses, or grants less than a
// quarter of the lease asked for (the max TTL is near), it logs in again.
func (l *login) renew(ctx context.Context) error {
	l.mu.Lock()
	lease, renewable := l.lease, l.renewable
	l.mu.Unlock()
	if renewable {
		// On the node in use, outside the node pool: Vault's answer to a
		// renewal past the max TTL is a 500, which is no node failure.
		sec, err := l.nodes.current().Auth().Token().RenewSelfWithContext(ctx, int(lease.Seconds()))
		if err == nil && sec != nil && sec.Auth != nil {
			got := time.Duration(sec.Auth.LeaseDuration) * time.Second
			if got >= lease/4 {
				l.mu.Lock()
				l.issued, l.expires = l.now(), l.now().Add(got)
				l.mu.Unlock()
				return nil
			}
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.loginLocked(ctx)
}

// loginLocked logs in and installs the new token. Vault refusing the
// credentials is ErrForbidden (vault_auth_failed); no credentials to read
// is a configuration error reported the same way.
func (l *login) loginLocked(ctx context.Context) error {
	if l.failErr != nil && l.now().Sub(l.failedAt) < loginBackoff {
		return l.failErr
	}
	err := l.doLogin(ctx)
	if err != nil {
		l.failedAt, l.failErr = l.now(), err
	} else {
		l.failErr = nil
	}
	return err
}

func (l *login) doLogin(ctx context.Context) error {
	l.lastLogin = l.now()
	path, body, err := l.body(ctx)
	if err != nil {
		l.nodes.setState(StateUnauthorized, err)
		return fmt.Errorf("%w: %w: %s login: %v", ErrUnavailable, ErrForbidden, l.cfg.AuthMethod, err)
	}
	sec, err := l.nodes.do(ctx, false, func(c *api.Client) (*api.Secret, error) {
		// Log in without the old token: Vault would refuse a stale one.
		anon, err := c.CloneWithHeaders()
		if err != nil {
			return nil, err
		}
		anon.ClearToken()
		return anon.Logical().WriteWithContext(ctx, path, body)
	})
	if err != nil {
		var re *api.ResponseError
		if errors.As(err, &re) && (re.StatusCode == http.StatusBadRequest || re.StatusCode == http.StatusForbidden) {
			// Vault answered: it refuses these credentials.
			l.nodes.setState(StateUnauthorized, err)
			return fmt.Errorf("%w: %w: %s login refused: vault answered %d: %s", ErrUnavailable, ErrForbidden,
				l.cfg.AuthMethod, re.StatusCode, strings.Join(re.Errors, "; "))
		}
		return unavailable(l.cfg.AuthMethod+" login", err)
	}
	if sec == nil || sec.Auth == nil || sec.Auth.ClientToken == "" {
		return fmt.Errorf("%w: %s login: no token in Vault's answer", ErrUnavailable, l.cfg.AuthMethod)
	}
	now := l.now()
	l.token, l.issued, l.expires = sec.Auth.ClientToken, now, time.Time{}
	l.lease, l.renewable = time.Duration(sec.Auth.LeaseDuration)*time.Second, sec.Auth.Renewable
	if l.lease > 0 {
		l.expires = now.Add(l.lease)
	}
	l.setToken(l.token)
	return nil
}

// body is the login request of the configured method, its credentials read
// from their files now (they may have been rotated since the last login).
func (l *login) body(ctx context.Context) (string, map[string]any, error) {
	c := l.cfg
	switch c.AuthMethod {
	case AuthAppRole:
		roleID, err := readCredential(c.RoleIDFile, "role_id_file")
		if err != nil {
			return "", nil, err
		}
		secretID, err := readCredential(c.SecretIDFile, "secret_id_file")
		if err != nil {
			return "", nil, err
		}
		if c.SecretIDWrapped {
			if secretID, err = l.unwrapSecretID(ctx, secretID); err != nil {
				return "", nil, err
			}
		}
		return "auth/" + c.authMount() + "/login", map[string]any{"role_id": roleID, "secret_id": secretID}, nil
	case AuthKubernetes:
		jwt, err := readCredential(c.jwtFile(), "jwt_file")
		if err != nil {
			return "", nil, err
		}
		return "auth/" + c.authMount() + "/login", map[string]any{"role": c.Role, "jwt": jwt}, nil
	}
	return "", nil, fmt.Errorf("auth method %q cannot log in", c.AuthMethod)
}

// unwrapSecretID unwraps the secret id the file's wrapping token holds, once
// per wrapping token.
func (l *login) unwrapSecretID(ctx context.Context, wrapped string) (string, error) {
	if l.secretID.wrapped == wrapped {
		return l.secretID.secretID, nil
	}
	sec, err := l.nodes.do(ctx, true, func(c *api.Client) (*api.Secret, error) {
		anon, err := c.CloneWithHeaders()
		if err != nil {
			return nil, err
		}
		anon.ClearToken()
		return anon.Logical().UnwrapWithContext(ctx, wrapped)
	})
	if err != nil {
		return "", fmt.Errorf("unwrapping the secret id in secret_id_file (a wrapping token unwraps once; write a new one): %v", err)
	}
	id := ""
	if sec != nil {
		id = str(sec.Data, "secret_id")
	}
	if id == "" {
		return "", fmt.Errorf("the wrapping token in secret_id_file holds no secret_id")
	}
	l.secretID = cachedUnwrap{wrapped: wrapped, secretID: id}
	return id, nil
}

func readCredential(path, option string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("%s: %w", option, err)
	}
	s := strings.TrimSpace(string(b))
	if s == "" {
		return "", fmt.Errorf("%s %s is empty", option, path)
	}
	return s, nil
}

func (c Config) authMount() string {
	if c.AuthMount != "" {
		return strings.Trim(c.AuthMount, "/")
	}
	return c.AuthMethod
}

func (c Config) jwtFile() string {
	if c.JWTFile != "" {
		return c.JWTFile
	}
	return DefaultJWTFile
}

// validateAuth checks the auth options of a config (Validate calls it).
func (c Config) validateAuth() error {
	static := c.Token != "" || c.TokenFile != ""
	switch c.AuthMethod {
	case AuthToken:
		if c.RoleIDFile != "" || c.SecretIDFile != "" || c.Role != "" || c.JWTFile != "" || c.AuthMount != "" || c.SecretIDWrapped {
			return fmt.Errorf("vault: role_id_file, secret_id_file, role, jwt_file and auth_mount need auth_method approle or kubernetes")
		}
		return nil
	case AuthAppRole:
		if c.RoleIDFile == "" || c.SecretIDFile == "" {
			return fmt.Errorf("vault: auth_method approle needs role_id_file and secret_id_file")
		}
	case AuthKubernetes:
		if c.Role == "" {
			return fmt.Errorf("vault: auth_method kubernetes needs role")
		}
	case AuthAgent:
	default:
		return fmt.Errorf("vault: unknown auth_method %q (want approle, kubernetes or agent; none for a token)", c.AuthMethod)
	}
	if static {
		return fmt.Errorf("vault: auth_method %s takes no token or token_file", c.AuthMethod)
	}
	if c.AuthMethod != AuthAppRole && (c.RoleIDFile != "" || c.SecretIDFile != "" || c.SecretIDWrapped) {
		return fmt.Errorf("vault: role_id_file, secret_id_file and secret_id_wrapped are AppRole options")
	}
	if c.AuthMethod != AuthKubernetes && (c.Role != "" || c.JWTFile != "") {
		return fmt.Errorf("vault: role and jwt_file are Kubernetes options")
	}
	return nil
}

// credentialOptions are the options that say who cardproxy is to Vault.
var credentialOptions = map[string]bool{
	"token": true, "token_file": true, "auth_method": true, "auth_mount": true, "role_id_file": true,
	"secret_id_file": true, "secret_id_wrapped": true, "role": true, "jwt_file": true,
}

// WithIdentity is c with the credentials of id instead of its own: the same
// Vault, mounts and keys, another identity (the Caddy app's ingress_vault
// and egress_vault, so the ingress and the egress of one process can run
// with a tokenize-only and a detokenize-only identity). id may set only
// credential options.
func (c Config) WithIdentity(id Config) (Config, error) {
	out := c
	src, dst := id.Options(), out.Options()
	for i, o := range src {
		set := !reflect.ValueOf(o.Ptr).Elem().IsZero()
		if !credentialOptions[o.Name] {
			if set {
				return c, fmt.Errorf("vault: option %s cannot differ per identity (only %s)", o.Name, strings.Join(credentialNames(), ", "))
			}
			continue
		}
		reflect.ValueOf(dst[i].Ptr).Elem().Set(reflect.ValueOf(o.Ptr).Elem())
	}
	return out, nil
}

func credentialNames() []string {
	var names []string
	for _, o := range (&Config{}).Options() {
		if credentialOptions[o.Name] {
			names = append(names, o.Name)
		}
	}
	return names
}
