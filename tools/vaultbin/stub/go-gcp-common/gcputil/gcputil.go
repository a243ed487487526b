// Package gcputil stands in for go-gcp-common's gcputil in the Vault server
// cardproxy builds for its tests (tools/vaultbin): only Vault Agent's GCP
// auto-auth uses it, and it pulls in Google's Compute and IAM API clients (a
// sixth of the trimmed build's CPU). FindCredentials refuses, so that auto-auth
// method fails with an error; nothing else in Vault changes.
package gcputil

import (
	"context"
	"errors"

	"golang.org/x/oauth2"
)

// GcpCredentials are a service account's credentials.
type GcpCredentials struct {
	ClientEmail  string `json:"client_email"`
	ClientId     string `json:"client_id"`
	PrivateKeyId string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ProjectId    string `json:"project_id"`
}

// FindCredentials refuses.
func FindCredentials(string, context.Context, ...string) (*GcpCredentials, oauth2.TokenSource, error) {
	return nil, nil, errors.New("GCP auth is not built into cardproxy's test Vault")
}
