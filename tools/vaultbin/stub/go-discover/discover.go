// Package discover stands in for github.com/hashicorp/go-discover in the Vault
// server cardproxy builds for its tests (tools/vaultbin). The real package
// imports the SDKs of fourteen clouds and Kubernetes' client for Raft's
// retry_join auto_join, which cardproxy's tests never use; they were 40 % of
// the build's CPU. Vault's code compiles against the same API: auto_join
// configurations are refused with an error, nothing else changes.
package discover

import (
	"errors"
	"log"
)

// errNoAutoJoin is what every use of auto_join gets from this build.
var errNoAutoJoin = errors.New("auto_join (go-discover) is not built into cardproxy's test Vault; list leader_api_addr instead")

// Provider is go-discover's provider interface.
type Provider interface {
	Addrs(args map[string]string, l *log.Logger) ([]string, error)
	Help() string
}

// Providers is empty in this build.
var Providers = map[string]Provider{}

// Config is a parsed auto_join string.
type Config map[string]string

// Parse refuses every auto_join string.
func Parse(string) (Config, error) { return nil, errNoAutoJoin }

// String is never reached (Parse returns no Config).
func (c Config) String() string { return "" }

// Discover looks nothing up.
type Discover struct{}

// Option configures a Discover.
type Option func(*Discover) error

// New returns a Discover that refuses every lookup.
func New(...Option) (*Discover, error) { return &Discover{}, nil }

// WithProviders is accepted and ignored.
func WithProviders(map[string]Provider) Option { return func(*Discover) error { return nil } }

// Addrs refuses.
func (d *Discover) Addrs(string, *log.Logger) ([]string, error) { return nil, errNoAutoJoin }
