// Package okta stands in for the Okta SDK in the Vault server cardproxy builds
// for its tests (tools/vaultbin). Vault's core imports it for Okta push MFA
// only; it was an eighth of the trimmed build's CPU. This has the API that
// code compiles against, and NewConfiguration refuses, so an Okta MFA method
// fails with an error; nothing else in Vault changes.
package okta

import (
	"context"
	"errors"
	"net/http"
)

var errNotBuilt = errors.New("Okta MFA is not built into cardproxy's test Vault")

// Configuration is never made (NewConfiguration refuses).
type Configuration struct{ Context context.Context }

// ConfigSetter is an option of NewConfiguration.
type ConfigSetter func(*Configuration)

// NewConfiguration refuses.
func NewConfiguration(...ConfigSetter) (*Configuration, error) { return nil, errNotBuilt }

// WithToken is accepted.
func WithToken(string) ConfigSetter { return func(*Configuration) {} }

// WithOrgUrl is accepted.
func WithOrgUrl(string) ConfigSetter { return func(*Configuration) {} }

// WithCache is accepted.
func WithCache(bool) ConfigSetter { return func(*Configuration) {} }

// APIClient answers every call with an error.
type APIClient struct {
	cfg           *Configuration
	UserAPI       UserAPI
	UserFactorAPI UserFactorAPI
}

// NewAPIClient returns a client that refuses.
func NewAPIClient(cfg *Configuration) *APIClient { return &APIClient{cfg: cfg} }

// GetConfig returns the configuration (never nil).
func (c *APIClient) GetConfig() *Configuration {
	if c.cfg == nil {
		return &Configuration{Context: context.Background()}
	}
	return c.cfg
}

// APIResponse is an HTTP response.
type APIResponse struct{ *http.Response }

// User is an Okta user.
type User struct{ Id *string }

// GetId returns the user's id.
func (u *User) GetId() string {
	if u == nil || u.Id == nil {
		return ""
	}
	return *u.Id
}

// UserAPI lists users.
type UserAPI struct{}

// ListUsersRequest is a pending ListUsers call.
type ListUsersRequest struct{}

// ListUsers starts a call that fails.
func (UserAPI) ListUsers(context.Context) ListUsersRequest { return ListUsersRequest{} }

// Filter is accepted.
func (r ListUsersRequest) Filter(string) ListUsersRequest { return r }

// Execute refuses.
func (ListUsersRequest) Execute() ([]User, *APIResponse, error) { return nil, nil, errNotBuilt }

// UserFactorPush is a push factor.
type UserFactorPush struct{ Id *string }

// GetId returns the factor's id.
func (f *UserFactorPush) GetId() string {
	if f == nil || f.Id == nil {
		return ""
	}
	return *f.Id
}

// UserFactor is one of a user's factors.
type UserFactor struct{ UserFactorPush *UserFactorPush }

// VerifyFactorResult is VerifyFactor's answer.
type VerifyFactorResult struct {
	FactorResult *string
	Links        map[string]any
}

// GetFactorResult returns the factor result.
func (r *VerifyFactorResult) GetFactorResult() string {
	if r == nil || r.FactorResult == nil {
		return ""
	}
	return *r.FactorResult
}

// TransactionStatus is GetFactorTransactionStatus's answer.
type TransactionStatus struct {
	UserFactorPushTransactionWaiting  *struct{}
	UserFactorPushTransaction         *struct{}
	UserFactorPushTransactionRejected *struct{}
	UserFactorPushTransactionTimeout  *struct{}
}

// UserFactorAPI manages factors.
type UserFactorAPI struct{}

// FactorsRequest is a pending ListFactors call.
type FactorsRequest struct{}

// Execute refuses.
func (FactorsRequest) Execute() ([]UserFactor, *APIResponse, error) { return nil, nil, errNotBuilt }

// VerifyRequest is a pending VerifyFactor call.
type VerifyRequest struct{}

// Execute refuses.
func (VerifyRequest) Execute() (*VerifyFactorResult, *APIResponse, error) {
	return nil, nil, errNotBuilt
}

// StatusRequest is a pending GetFactorTransactionStatus call.
type StatusRequest struct{}

// Execute refuses.
func (StatusRequest) Execute() (*TransactionStatus, *APIResponse, error) {
	return nil, nil, errNotBuilt
}

// ListFactors starts a call that fails.
func (UserFactorAPI) ListFactors(context.Context, string) FactorsRequest { return FactorsRequest{} }

// VerifyFactor starts a call that fails.
func (UserFactorAPI) VerifyFactor(context.Context, string, string) VerifyRequest {
	return VerifyRequest{}
}

// GetFactorTransactionStatus starts a call that fails.
func (UserFactorAPI) GetFactorTransactionStatus(context.Context, string, string, string) StatusRequest {
	return StatusRequest{}
}
