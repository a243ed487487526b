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
		Usage: "[--address <url>] [--token-file <file>] [--kv-mount <path>] [--transit-mount <path>] [--index-hmac-in-process] [--audit-file <path>]",
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
			cmd.Flags().String("audit-file", "", "also enable Vault's file audit device, writing to this path on the Vault server")
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
		Name:  "vault-rotate",
		Usage: "[--address <url>] [--token-file <file>] [--kv-mount <path>] [--transit-mount <path>] [--index] [--batch <n>]",
		Short: "Rotates cardproxy's Transit keys and rewraps every stored card record",
		Long: `
Rotates the PAN key, rewraps every tenant's token records to the new version
(Transit rewrap, in batches, with progress; cards never leave Vault), checks
that none is left on an older version and retires the older versions
(min_decryption_version): every token still detokenizes, a copy of a record
sealed before no longer opens. Rotates the CVC key and retires its versions
but the one just replaced (CVCs written minutes before still open). With
--index it also rotates the dedupe index key: dedupe then starts over (a card
tokenized before gets a new token the next time; both tokens work). Needs a
token allowed to list, rewrap and configure keys (the vault-init token). Safe
to run while cardproxy serves.`,
		CobraFunc: func(cmd *cobra.Command) {
			vaultFlags(cmd)
			cmd.Flags().Bool("index", false, "also rotate the dedupe index key (dedupe starts over)")
			cmd.Flags().Int("batch", 100, "records rewrapped per Vault call")
			cmd.Flags().Duration("grace", 0, "wait this long after rotating for tokenizations in flight (default: twice --timeout's default, 20s)")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdVaultRotate)
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
	if path := fl.String("audit-file"); path != "" {
		if err := s.EnableFileAudit(ctx, path); err != nil {
			return exitFailed, err
		}
		fmt.Printf("vault file audit device \"cardproxy\" writes to %s (on the Vault server)\n", path)
	}
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

func cmdVaultRotate(fl caddycmd.Flags) (int, error) {
	s, err := storeFromFlags(fl, true)
	if err != nil {
		return exitFailed, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 6*time.Hour)
	defer cancel()
	start := time.Now()
	res, err := s.Rotate(ctx, vault.RotateOptions{Index: fl.Bool("index"), Batch: fl.Int("batch"), Grace: fl.Duration("grace"), Progress: func(line string) {
		fmt.Printf("%6.1fs  %s\n", time.Since(start).Seconds(), line)
	}})
	if err != nil {
		return exitFailed, err
	}
	fmt.Printf("rotated in %s: %d tenants, %d records, %d rewrapped; pan key v%d, cvc key v%d",
		time.Since(start).Round(time.Millisecond), res.Tenants, res.Records, res.Rewrapped, res.PANVersion, res.CVCVersion)
	if res.IndexVersion > 0 {
		fmt.Printf(", index key v%d (dedupe starts over)", res.IndexVersion)
	}
	fmt.Println()
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
