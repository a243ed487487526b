package caddymodule

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/cardproxy/cardproxy/scopereport"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "scope-report",
		Usage: "--log <audit log> [--config <Caddyfile|JSON>] [--from <RFC 3339>] [--to <RFC 3339>] [--json <file>] [--html <file>]",
		Short: "Prints the PCI DSS scope evidence of a period from cardproxy's audit trail",
		Long: `
Reads the cardproxy.audit log (JSON lines; route it with a Caddy log block:
log audit { include cardproxy.audit … }) and reports for the period: requests
and fields tokenized, detokenizations by upstream, CVCs used, refusals by code,
card data detected and refused (and forwarded to the app: 0), 3-D Secure
relays, the Vault identity each side used, the configuration in force (with
--config: ingress routes, egress upstreams, admin API, Vault identities — never
a secret) and the PCI DSS v4.0 requirement each control serves. JSON on
standard output (or --json), and a self-contained HTML page with --html.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().String("log", "", "the audit log (required)")
			cmd.Flags().String("config", "", "the configuration in force (Caddyfile or JSON)")
			cmd.Flags().String("adapter", "", "config adapter (default: caddyfile for a file named *Caddyfile*)")
			cmd.Flags().String("from", "", "period start, RFC 3339 (default: the first event)")
			cmd.Flags().String("to", "", "period end, RFC 3339, exclusive (default: after the last event)")
			cmd.Flags().String("json", "", "write the JSON report here instead of standard output")
			cmd.Flags().String("html", "", "also write the HTML report here")
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdScopeReport)
		},
	})
}

func cmdScopeReport(fl caddycmd.Flags) (int, error) {
	var from, to time.Time
	for _, p := range []struct {
		flag string
		t    *time.Time
	}{{"from", &from}, {"to", &to}} {
		if v := fl.String(p.flag); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return 2, fmt.Errorf("--%s: %v", p.flag, err)
			}
			*p.t = t
		}
	}
	if fl.String("log") == "" {
		return 2, fmt.Errorf("--log is required")
	}
	f, err := os.Open(fl.String("log"))
	if err != nil {
		return 1, err
	}
	defer f.Close()
	r, err := scopereport.Build(f, from, to, time.Now())
	if err != nil {
		return 1, err
	}
	if path := fl.String("config"); path != "" {
		if r.Configuration, err = reportConfig(path, fl.String("adapter")); err != nil {
			return 1, err
		}
	}
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return 1, err
	}
	if p := fl.String("json"); p != "" {
		err = os.WriteFile(p, append(out, '\n'), 0o600)
	} else {
		_, err = fmt.Println(string(out))
	}
	if err != nil {
		return 1, err
	}
	if p := fl.String("html"); p != "" {
		h, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return 1, err
		}
		defer h.Close()
		if err := scopereport.WriteHTML(h, r); err != nil {
			return 1, err
		}
	}
	return 0, nil
}

// reportConfig adapts a config file the way `cardproxy run` would.
func reportConfig(path, adapter string) (*scopereport.Config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if adapter == "" && (filepath.Ext(path) != ".json") {
		adapter = "caddyfile"
	}
	if adapter != "" {
		a := caddyconfig.GetAdapter(adapter)
		if a == nil {
			return nil, fmt.Errorf("unknown config adapter %q", adapter)
		}
		if raw, _, err = a.Adapt(raw, map[string]any{"filename": path}); err != nil {
			return nil, fmt.Errorf("adapting %s: %v", path, err)
		}
	}
	return scopereport.ConfigFromJSON(raw)
}
