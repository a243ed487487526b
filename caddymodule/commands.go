package caddymodule

import (
	"context"
	"fmt"
	"os"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/cardproxy/cardproxy/vault"
)

func init() {
	vaultFlags := func(cmd *cobra.Command) {
		cmd.Flags().String("address", "", "Vault address (default $VAULT_ADDR)")
		cmd.Flags().String("token-file", "", "file holding the Vault token (default $VAULT_TOKEN)")
		cmd.Flags().String("kv-mount", "", "KV v2 mount for token records (default "+vault.DefaultKVMount+")")
		cmd.Flags().String("transit-mount", "", "Transit mount for cardproxy's keys (default "+vault.DefaultTransitMount+")")
		cmd.Flags().Bool("index-hmac-in-process", false, "make the dedupe HMAC key exportable to the ingress (vault option index_hmac_in_process)")
	}
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "vault-init",
		Usage: "[--address <url>] [--token-file <file>] [--kv-mount <path>] [--transit-mount <path>] [--index-hmac-in-process]",
		Short: "Prepares Vault for cardproxy (mounts, keys, policies); safe to re-run",
		Long: `
Creates, if missing, the KV v2 mount for token records, the Transit mount with
the PAN encryption key (derived per tenant), the dedupe HMAC key and the CVC
key (exportable), and writes the policies cardproxy-tokenize (ingress) and
cardproxy-detokenize (egress). Existing mounts and keys are checked, never
changed, but for one thing: with --index-hmac-in-process the dedupe HMAC key
is made exportable (irreversible in Vault). Needs a Vault token allowed
to manage mounts and policies, from $VAULT_TOKEN or --token-file (never a flag
value: command lines are visible to other users).`,
		CobraFunc: func(cmd *cobra.Command) {
			vaultFlags(cmd)
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdVaultInit)
		},
	})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "vault-sweep",
		Usage: "--tenant <name> [--address <url>] [--token-file <file>]",
		Short: "Hard-deletes expired tokens and CVC entries of a tenant from Vault",
		Long: `
Lists a tenant's token records, dedupe index entries and CVC entries and
removes, with all versions and metadata, every one whose lifetime is over.
Reads already refuse expired tokens; this is the retention job that makes them
gone (PCI DSS 3.2.1). Run it from cron or a systemd timer.`,
		CobraFunc: func(cmd *cobra.Command) {
			vaultFlags(cmd)
			cmd.Flags().String("tenant", DefaultTenant, "tenant to sweep")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdVaultSweep)
		},
	})
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "vault-policy",
		Usage: "tokenize|detokenize [--kv-mount <path>] [--transit-mount <path>] [--index-hmac-in-process]",
		Short: "Prints the Vault policy the ingress (tokenize) or egress (detokenize) needs",
		CobraFunc: func(cmd *cobra.Command) {
			vaultFlags(cmd)
			cmd.Args = cobra.ExactArgs(1)
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdVaultPolicy)
		},
	})
}

func storeFromFlags(fl caddycmd.Flags, needToken bool) (*vault.Store, error) {
	cfg := vault.Config{
		Address:      fl.String("address"),
		TokenFile:    fl.String("token-file"),
		KVMount:      fl.String("kv-mount"),
		TransitMount: fl.String("transit-mount"),
		// vault-sweep has the flag too and ignores it.
		IndexHMACInProcess: fl.Bool("index-hmac-in-process"),
	}
	if !needToken && cfg.TokenFile == "" && os.Getenv("VAULT_TOKEN") == "" {
		cfg.Token = "unused" // vault-policy only renders text
	}
	return vault.New(cfg)
}

func cmdVaultInit(fl caddycmd.Flags) (int, error) {
	s, err := storeFromFlags(fl, true)
	if err != nil {
		return exitFailed, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := s.Setup(ctx); err != nil {
		return exitFailed, err
	}
	c := s.Config()
	fmt.Printf("vault ready for cardproxy: kv v2 at %s/, transit at %s/ (keys %s, %s, %s), policies %s and %s\n",
		c.KVMount, c.TransitMount, c.PANKey, c.IndexKey, c.CVCKey, vault.PolicyTokenize, vault.PolicyDetokenize)
	return 0, nil
}

func cmdVaultSweep(fl caddycmd.Flags) (int, error) {
	s, err := storeFromFlags(fl, true)
	if err != nil {
		return exitFailed, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
	defer cancel()
	res, err := s.Sweep(ctx, fl.String("tenant"))
	if err != nil {
		return 1, err
	}
	fmt.Printf("swept tenant %s: %d tokens, %d index entries, %d cvc entries removed\n", fl.String("tenant"), res.Tokens, res.Index, res.CVCs)
	return 0, nil
}

func cmdVaultPolicy(fl caddycmd.Flags) (int, error) {
	s, err := storeFromFlags(fl, false)
	if err != nil {
		return 1, err
	}
	switch fl.Arg(0) {
	case "tokenize":
		fmt.Print(s.TokenizePolicy())
	case "detokenize":
		fmt.Print(s.DetokenizePolicy())
	default:
		return 2, fmt.Errorf("want tokenize or detokenize, not %q", fl.Arg(0))
	}
	return 0, nil
}

const exitFailed = 1
