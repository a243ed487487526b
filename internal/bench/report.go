package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
	"time"
)

const header = "scenario        vault  c    req/s    p50 ms   p99 ms  errors  vault/req  x base  +p50 ms  x writes"

// row is one result as a table line; ratios are blank where there is none.
func row(r Result) string {
	opt := func(v float64, f string) string {
		if v == 0 {
			return "-"
		}
		return fmt.Sprintf(f, v)
	}
	base, added := "-", "-"
	if r.Baseline != "" {
		base, added = fmt.Sprintf("%.2f", r.XBaseline), fmt.Sprintf("%+.2f", r.AddedP50)
	}
	note := ""
	if r.PoolRanOut {
		note = fmt.Sprintf("  (pool ran out after %.1fs)", r.Seconds)
	}
	return fmt.Sprintf("%-15s %-5s %3d %8.0f %9.2f %8.2f %7d %10.2f %7s %8s %9s%s",
		r.Scenario, r.Vault, r.Concurrency, r.RPS, r.P50, r.P99, r.Errors, r.CallsPerReq,
		base, added, opt(r.XWriteCeiling, "%.2f"), note)
}

// Table writes the results as a text table, one block per concurrency and
// Vault, followed by the legend.
func Table(w io.Writer, rs []Result) {
	fmt.Fprintln(w, header)
	lastKey, lastRaw := "", false
	for _, r := range rs {
		k, raw := fmt.Sprint(r.Vault, r.Concurrency), r.Kind == "vault"
		if lastKey != "" && (k != lastKey || raw != lastRaw) {
			fmt.Fprintln(w)
		}
		lastKey, lastRaw = k, raw
		fmt.Fprintln(w, row(r))
	}
	fmt.Fprintln(w, strings.TrimSpace(`
vault/req: requests the counting proxy in front of Vault saw, per request (measured window only).
x base: req/s ÷ the baseline's (plain for the ingress, plain-tls for the egress), same Vault and c;
+p50 ms: p50 − the baseline's. x writes: req/s ÷ the raw-Vault ceiling of the writes the scenario
needs (1 / Σ count/rate of those raw scenarios in the same run).`))
}

// Report is the JSON file: the machine, the options and the results.
type Report struct {
	Date        time.Time `json:"date"`
	GoVersion   string    `json:"go_version"`
	CPUs        int       `json:"cpus"`
	GOMAXPROCS  int       `json:"gomaxprocs"`
	Duration    string    `json:"duration"`
	Concurrency []int     `json:"concurrency"`
	Vaults      []string  `json:"vaults"`
	Results     []Result  `json:"results"`
}

// WriteJSON writes the report to path.
func WriteJSON(path string, o Options, rs []Result) error {
	b, err := json.MarshalIndent(Report{
		Date: time.Now().UTC(), GoVersion: runtime.Version(), CPUs: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0),
		Duration: o.Duration.String(), Concurrency: o.Concurrency, Vaults: o.Vaults, Results: rs,
	}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
