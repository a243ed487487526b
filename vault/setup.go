package vault

import (
	"context"
	"fmt"
	"strings"

	"github.com/hashicorp/vault/api"
)

// Setup makes Vault ready for cardproxy, idempotently: the KV v2 mount, the
// Transit mount, the PAN encryption key (derived, per-tenant context) and the
// dedupe HMAC key, and the two policies (PolicyTokenize, PolicyDetokenize). It
// needs a token allowed to manage mounts and policies; cardproxy itself then
// runs with the narrower policies.
func (s *Store) Setup(ctx context.Context) error {
	mounts, err := s.Client().Sys().ListMountsWithContext(ctx)
	if err != nil {
		return unavailable("list mounts", err)
	}
	kv, haveKV := mounts[s.cfg.KVMount+"/"]
	switch {
	case !haveKV:
		if err := s.Client().Sys().MountWithContext(ctx, s.cfg.KVMount, &api.MountInput{
			Type: "kv", Description: "cardproxy token records", Options: map[string]string{"version": "2"},
		}); err != nil {
			return unavailable("mount kv", err)
		}
	case kv.Type != "kv" || kv.Options["version"] != "2":
		return fmt.Errorf("vault: mount %q exists but is %s version %q, not kv version 2", s.cfg.KVMount, kv.Type, kv.Options["version"])
	}
	tr, haveTransit := mounts[s.cfg.TransitMount+"/"]
	switch {
	case !haveTransit:
		if err := s.Client().Sys().MountWithContext(ctx, s.cfg.TransitMount, &api.MountInput{
			Type: "transit", Description: "cardproxy card encryption and dedupe keys",
		}); err != nil {
			return unavailable("mount transit", err)
		}
	case tr.Type != "transit":
		return fmt.Errorf("vault: mount %q exists but is %s, not transit", s.cfg.TransitMount, tr.Type)
	}
	if err := s.ensureKey(ctx, s.cfg.PANKey, map[string]any{"type": "aes256-gcm96", "derived": true}); err != nil {
		return err
	}
	if err := s.ensureKey(ctx, s.cfg.IndexKey, map[string]any{"type": "hmac", "key_size": 32, "exportable": s.cfg.IndexHMACInProcess}); err != nil {
		return err
	}
	if err := s.ensureKey(ctx, s.cfg.CVCKey, map[string]any{"type": "aes256-gcm96", "exportable": true, "auto_rotate_period": "720h"}); err != nil {
		return err
	}
	for name, body := range map[string]string{
		PolicyTokenize:   s.TokenizePolicy(),
		PolicyDetokenize: s.DetokenizePolicy(),
	} {
		if err := s.Client().Sys().PutPolicyWithContext(ctx, name, body); err != nil {
			return unavailable("write policy "+name, err)
		}
	}
	return nil
}

func (s *Store) ensureKey(ctx context.Context, name string, params map[string]any) error {
	path := s.cfg.TransitMount + "/keys/" + name
	sec, err := s.Client().Logical().ReadWithContext(ctx, path)
	if err != nil {
		return unavailable("read transit key", err)
	}
	if sec != nil && sec.Data != nil {
		want := params["type"].(string)
		if got, _ := sec.Data["type"].(string); got != want {
			return fmt.Errorf("vault: transit key %q exists with type %q, want %q", name, got, want)
		}
		if d, ok := params["derived"].(bool); ok && d {
			if got, _ := sec.Data["derived"].(bool); !got {
				return fmt.Errorf("vault: transit key %q exists but is not derived (cardproxy needs per-tenant key derivation)", name)
			}
		}
		if e, _ := params["exportable"].(bool); e {
			// Keys made before cardproxy used them in process (keys.go).
			if got, _ := sec.Data["exportable"].(bool); !got {
				if _, err := s.Client().Logical().WriteWithContext(ctx, path+"/config", map[string]any{"exportable": true}); err != nil {
					return unavailable("make transit key exportable", err)
				}
			}
		}
		return nil
	}
	if _, err := s.Client().Logical().WriteWithContext(ctx, path, params); err != nil {
		return unavailable("create transit key", err)
	}
	return nil
}

// tokenSelf lets a token cardproxy logged in for (AppRole, Kubernetes)
// renew and look itself up without Vault's default policy.
const tokenSelf = `# Renew and look up its own token (auth_method approle, kubernetes).
path "auth/token/renew-self" { capabilities = ["update"] }
path "auth/token/lookup-self" { capabilities = ["read"] }
`

// EnableFileAudit enables Vault's file audit device "cardproxy" writing to
// path (on the Vault server), unless a device of that name exists already.
// Vault then logs every request cardproxy makes — tokens and paths, request
// and response values HMAC'd — so its trail can be matched with cardproxy's
// own logs.
func (s *Store) EnableFileAudit(ctx context.Context, path string) error {
	audits, err := s.Client().Sys().ListAuditWithContext(ctx)
	if err != nil {
		return unavailable("list audit devices", err)
	}
	if a, ok := audits["cardproxy/"]; ok {
		if a.Type != "file" || a.Options["file_path"] != path {
			return fmt.Errorf("vault: audit device cardproxy/ exists as %s to %q, not file to %q", a.Type, a.Options["file_path"], path)
		}
		return nil
	}
	if err := s.Client().Sys().EnableAuditWithOptionsWithContext(ctx, "cardproxy", &api.EnableAuditOptions{
		Type: "file", Description: "cardproxy's Vault calls", Options: map[string]string{"file_path": path},
	}); err != nil {
		return unavailable("enable file audit device", err)
	}
	return nil
}

// Policy names written by Setup.
const (
	PolicyTokenize   = "cardproxy-tokenize"
	PolicyDetokenize = "cardproxy-detokenize"
)

// TokenizePolicy is what the ingress needs: seal and index cards, seal CVCs,
// serve 3-D Secure relays. It cannot decrypt a PAN or read a CVC entry.
func (s *Store) TokenizePolicy() string {
	export := `path "TR/export/encryption-key/CVCKEY" { capabilities = ["read"] }`
	if s.cfg.IndexHMACInProcess {
		export += "\n" + `path "TR/export/hmac-key/IDXKEY" { capabilities = ["read"] }`
	}
	return strings.NewReplacer("KV", s.cfg.KVMount, "TR", s.cfg.TransitMount, "PANKEY", s.cfg.PANKey, "IDXKEY", s.cfg.IndexKey, "CVCKEY", s.cfg.CVCKey).Replace(strings.Replace(strings.Replace(`# cardproxy ingress: tokenize only.
path "TR/encrypt/PANKEY" { capabilities = ["update"] }
path "TR/hmac/IDXKEY/*" { capabilities = ["update"] }
path "TR/hmac/IDXKEY" { capabilities = ["update"] }
# CVCs (and, with index_hmac_in_process, the dedupe HMAC) are sealed in
# process with keys exported from Transit (docs/security.md).
EXPORTS
path "KV/data/+/pan/*" { capabilities = ["create", "update"] }
path "KV/metadata/+/pan/*" { capabilities = ["delete"] }
path "KV/data/+/idx/*" { capabilities = ["create", "read", "update"] }
path "KV/data/+/cvc/*" { capabilities = ["create"] }
path "sys/wrapping/wrap" { capabilities = ["update"] }
# 3-D Secure relay pages are served (once) by the ingress: the stored entry holds
# a wrapping token, the relay itself is unwrapped (HEAD only looks it up).
path "KV/data/+/relay/*" { capabilities = ["read"] }
path "KV/metadata/+/relay/*" { capabilities = ["delete"] }
path "sys/wrapping/unwrap" { capabilities = ["update"] }
path "sys/wrapping/lookup" { capabilities = ["update"] }
TOKENSELF`, "EXPORTS", export, 1), "TOKENSELF", tokenSelf, 1))
}

// DetokenizePolicy is what the egress needs: open PAN records, consume CVCs.
func (s *Store) DetokenizePolicy() string {
	return strings.NewReplacer("KV", s.cfg.KVMount, "TR", s.cfg.TransitMount, "PANKEY", s.cfg.PANKey, "CVCKEY", s.cfg.CVCKey).Replace(strings.Replace(`# cardproxy egress: detokenize only.
path "TR/decrypt/PANKEY" { capabilities = ["update"] }
path "TR/export/encryption-key/CVCKEY" { capabilities = ["read"] }
path "KV/data/+/pan/*" { capabilities = ["read"] }
path "KV/metadata/+/pan/*" { capabilities = ["delete"] }
path "KV/metadata/+/idx/*" { capabilities = ["delete"] }
path "KV/data/+/cvc/*" { capabilities = ["read", "update"] }
path "KV/destroy/+/cvc/*" { capabilities = ["update"] }
path "KV/metadata/+/cvc/*" { capabilities = ["delete"] }
path "sys/wrapping/unwrap" { capabilities = ["update"] }
# 3-D Secure POST redirects are stored by the egress for the ingress to serve,
# wrapped in a single-use response-wrapping token.
path "KV/data/+/relay/*" { capabilities = ["create"] }
path "sys/wrapping/wrap" { capabilities = ["update"] }
TOKENSELF`, "TOKENSELF", tokenSelf, 1))
}
