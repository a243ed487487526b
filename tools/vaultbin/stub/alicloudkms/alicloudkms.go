// Package alicloudkms stands in for go-kms-wrapping's AliCloud KMS seal
// wrapper in the Vault server cardproxy builds for its tests (tools/vaultbin):
// Vault's configuration code imports it for the "alicloudkms" seal, and
// Alibaba Cloud's SDK was the dearest remaining library of the trimmed build.
// The wrapper refuses to be configured, so such a seal fails with an error;
// cardproxy's Vaults use Shamir seals.
package alicloudkms

import (
	"context"
	"errors"

	wrapping "github.com/hashicorp/go-kms-wrapping/v2"
)

// The environment variables Vault maps to the seal's key id.
const (
	EnvAliCloudKmsWrapperKeyId   = "ALICLOUDKMS_WRAPPER_KEY_ID"
	EnvVaultAliCloudKmsSealKeyId = "VAULT_ALICLOUDKMS_SEAL_KEY_ID"
)

var errNotBuilt = errors.New("the AliCloud KMS seal is not built into cardproxy's test Vault")

// Wrapper is a seal wrapper that refuses everything.
type Wrapper struct{}

var _ wrapping.Wrapper = (*Wrapper)(nil)

// NewWrapper returns a Wrapper that refuses.
func NewWrapper() *Wrapper { return &Wrapper{} }

// Type is the AliCloud KMS wrapper type.
func (*Wrapper) Type(context.Context) (wrapping.WrapperType, error) {
	return wrapping.WrapperTypeAliCloudKms, nil
}

// KeyId refuses.
func (*Wrapper) KeyId(context.Context) (string, error) { return "", errNotBuilt }

// SetConfig refuses.
func (*Wrapper) SetConfig(context.Context, ...wrapping.Option) (*wrapping.WrapperConfig, error) {
	return nil, errNotBuilt
}

// Encrypt refuses.
func (*Wrapper) Encrypt(context.Context, []byte, ...wrapping.Option) (*wrapping.BlobInfo, error) {
	return nil, errNotBuilt
}

// Decrypt refuses.
func (*Wrapper) Decrypt(context.Context, *wrapping.BlobInfo, ...wrapping.Option) ([]byte, error) {
	return nil, errNotBuilt
}
