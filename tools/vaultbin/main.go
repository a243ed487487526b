// Command vault is HashiCorp Vault's own CLI and server (command.Run), built
// from the Go module proxy for cardproxy's development and tests only.
//
// It lives in its own Go module so that the BUSL-1.1 licensed Vault server never
// enters cardproxy's module graph or its shipped binary. scripts/vault.sh builds
// it once per version and caches the binary outside the repository.
//
// It is trimmed to what cardproxy and its tests use, so that a fresh machine
// builds it in a quarter of the CPU time of a full Vault (docs/fresh-machine.md).
// Everything it serves is Vault's own code:
//   - Vault's own `minimal` build tag (scripts/vault.sh builds with -tags
//     minimal): KV, Transit, PKI, SSH, AppRole, userpass, cert and JWT/OIDC
//     auth, file audit, in-memory and Raft storage, `vault agent` and `vault
//     proxy`; no cloud secrets engines, database plugins or cloud auth methods;
//   - plus the Kubernetes auth method, which cardproxy supports (registered
//     below: the minimal build leaves it out);
//   - minus four libraries, replaced by stubs in stub/ (go.mod's replace
//     directives) that keep their API and refuse when called: go-discover
//     (Raft's cloud auto_join: fourteen clouds' SDKs and Kubernetes' client),
//     the Okta SDK (Okta push MFA), go-gcp-common (Vault Agent's GCP
//     auto-auth) and the AliCloud KMS seal. None is used by cardproxy or its
//     tests.
//
// Libraries cardproxy also uses (x/net, x/crypto, protobuf, gRPC, Prometheus,
// OpenTelemetry, go-jose, …) are required in go.mod at cardproxy's versions,
// newer than Vault's own, so that a fresh machine downloads and compiles them
// once for both; cardproxy's tests pass against this build.
package main

import (
	"fmt"
	"os"
	"reflect"
	"unsafe"

	credKube "github.com/hashicorp/vault-plugin-auth-kubernetes"
	"github.com/hashicorp/vault/command"
	"github.com/hashicorp/vault/helper/builtinplugins"
	"github.com/hashicorp/vault/sdk/logical"
)

func main() {
	if err := addBuiltinAuth("kubernetes", credKube.Factory); err != nil {
		fmt.Fprintln(os.Stderr, "cardproxy's vault build:", err)
		os.Exit(1)
	}
	os.Exit(command.Run(os.Args[1:]))
}

// addBuiltinAuth registers an auth method in Vault's builtin plugin registry,
// as the full build's registry_full.go does. The registry offers no way to add
// one from outside its package, so this writes its credentialBackends map
// (map[string]credentialBackend{logical.Factory; consts.DeprecationStatus})
// through reflect; a Vault version that changes that shape fails here, at
// start, instead of serving without the method.
func addBuiltinAuth(name string, f logical.Factory) error {
	reg := reflect.ValueOf(builtinplugins.Registry)
	if reg.Kind() != reflect.Pointer || reg.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("builtinplugins.Registry is a %s, not a pointer to a struct", reg.Type())
	}
	field := reg.Elem().FieldByName("credentialBackends")
	if !field.IsValid() || field.Kind() != reflect.Map || field.Type().Key().Kind() != reflect.String {
		return fmt.Errorf("builtinplugins.Registry has no credentialBackends map")
	}
	entry := reflect.New(field.Type().Elem()).Elem()
	factory := entry.FieldByName("Factory")
	if !factory.IsValid() || !factory.CanSet() || factory.Type() != reflect.TypeOf(f) {
		return fmt.Errorf("a credentialBackend has no logical.Factory")
	}
	factory.Set(reflect.ValueOf(f))
	m := reflect.NewAt(field.Type(), unsafe.Pointer(field.UnsafeAddr())).Elem()
	if m.IsNil() {
		return fmt.Errorf("builtinplugins.Registry's credentialBackends map is nil")
	}
	m.SetMapIndex(reflect.ValueOf(name), entry)
	return nil
}
