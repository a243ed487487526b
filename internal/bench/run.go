package bench

import (
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"
)

// DefaultDuration is each scenario's measured run unless told otherwise.
const DefaultDuration = 10 * time.Second

// Options says what to run.
type Options struct {
	Duration    time.Duration  // per scenario (default 10s), after a warm-up of a fifth of it (at most 1s)
	Concurrency []int          // one full pass per value (default 32)
	Vaults      []string       // "dev", "raft" (default both)
	Run         *regexp.Regexp // scenarios whose name matches (nil: all)
	Cards       int            // cards in the repeat pool (default 100)
	Log         io.Writer      // progress lines (nil: none)
}

// Scenarios lists every scenario in run order: raw Vault first (the
// ceilings), then the cardproxy ones.
func Scenarios() []Scenario {
	return append(append([]Scenario{}, rawScenarios...), cardproxyScenarios...)
}

// Result is one scenario's run against one Vault at one concurrency.
type Result struct {
	Scenario    string  `json:"scenario"`
	Kind        string  `json:"kind"` // ingress, egress or vault (raw Vault)
	Vault       string  `json:"vault"`
	Concurrency int     `json:"concurrency"`
	Seconds     float64 `json:"seconds"`
	Requests    int     `json:"requests"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	RPS         float64 `json:"req_per_s"`
	P50         float64 `json:"p50_ms"`
	P99         float64 `json:"p99_ms"`
	VaultCalls  int     `json:"vault_calls"`
	CallsPerReq float64 `json:"vault_calls_per_request"`
	// PoolRanOut: a single-use pool ended the run early (the rate is over
	// the time it ran).
	PoolRanOut bool `json:"pool_ran_out,omitempty"`

	Baseline      string  `json:"baseline,omitempty"`
	XBaseline     float64 `json:"x_baseline,omitempty"`   // req/s ÷ the baseline's
	AddedP50      float64 `json:"added_p50_ms,omitempty"` // p50 − the baseline's
	WriteCeiling  float64 `json:"write_ceiling_req_per_s,omitempty"`
	XWriteCeiling float64 `json:"x_write_ceiling,omitempty"` // req/s ÷ WriteCeiling
}

// seq numbers order ids and KV paths, unique in the process (a Vault sees
// several passes).
var seq atomic.Int64

// state is what the scenarios of one pass (one Vault, one concurrency) share.
type state struct {
	env    *Env
	opts   Options
	c      int
	d      time.Duration
	warm   time.Duration
	client *http.Client
	vc     *api.Client
	rng    *rand.Rand
	rates  map[string]float64 // req/s of the scenarios run so far in this pass
	mu     sync.Mutex

	cards      []card // the repeat pool, tokenized
	cvcs       pool[cvcCard]
	kvPaths    pool[string]
	wraps      pool[string]
	ciphertext string
}

func (s *state) logf(format string, args ...any) {
	if s.opts.Log != nil {
		fmt.Fprintf(s.opts.Log, format+"\n", args...)
	}
}

// Run runs the selected scenarios against each Vault kind at each
// concurrency and returns the results with their ratios filled in.
func Run(o Options) ([]Result, error) {
	if o.Duration == 0 {
		o.Duration = DefaultDuration
	}
	if len(o.Concurrency) == 0 {
		o.Concurrency = []int{32}
	}
	if len(o.Vaults) == 0 {
		o.Vaults = []string{"dev", "raft"}
	}
	if o.Cards == 0 {
		o.Cards = 100
	}
	var out []Result
	for _, kind := range o.Vaults {
		rs, err := runVault(o, kind)
		out = append(out, rs...)
		if err != nil {
			return out, err
		}
	}
	Ratios(out)
	return out, nil
}

func runVault(o Options, kind string) ([]Result, error) {
	s := &state{opts: o}
	s.logf("starting %s Vault, the app, the TLS upstream and cardproxy…", kind)
	env, err := Start(kind)
	if err != nil {
		return nil, err
	}
	defer env.Close()
	var out []Result
	for _, c := range o.Concurrency {
		s = &state{env: env, opts: o, c: c, d: o.Duration, warm: warmup(o.Duration),
			client: newClient(c), rng: rand.New(rand.NewPCG(rand.Uint64(), 1)), rates: map[string]float64{},
			cards: s.cards} // the repeat pool stays tokenized in this Vault
		if s.vc, err = env.vaultClient(c); err != nil {
			return out, err
		}
		for _, sc := range Scenarios() {
			if o.Run != nil && !o.Run.MatchString(sc.Name) {
				continue
			}
			r, err := s.scenario(sc)
			if err != nil {
				return out, fmt.Errorf("%s, %s Vault, c=%d: %w", sc.Name, kind, c, err)
			}
			out = append(out, r)
		}
		s.client.CloseIdleConnections()
	}
	return out, nil
}

// scenario prepares, warms up and runs one scenario, counting the Vault
// calls of the measured run only.
func (s *state) scenario(sc Scenario) (Result, error) {
	if sc.prepare != nil {
		if err := sc.prepare(s); err != nil {
			return Result{}, fmt.Errorf("preparing: %w", err)
		}
	}
	do := func(w *worker) error { return sc.do(s, w) }
	load(s.c, s.warm, s.client, s.vc, do)
	before := s.env.VaultCalls()
	r := load(s.c, s.d, s.client, s.vc, do)
	calls := s.env.VaultCalls() - before
	res := Result{
		Scenario: sc.Name, Kind: sc.Kind, Vault: s.env.Kind, Concurrency: s.c,
		Seconds: r.elapsed.Seconds(), Requests: r.requests, Errors: r.errors, FirstError: r.firstErr,
		RPS: float64(r.requests) / r.elapsed.Seconds(), P50: percentile(r.lat, 0.50), P99: percentile(r.lat, 0.99),
		VaultCalls: calls, PoolRanOut: r.exhausted,
	}
	if r.requests > 0 {
		res.CallsPerReq = float64(calls) / float64(r.requests)
	}
	s.rates[sc.Name] = res.RPS
	s.logf("%s", row(res))
	if r.errors > 0 {
		s.logf("  first error: %s", r.firstErr)
	}
	return res, nil
}

// Ratios fills in each result's ratio to its baseline (same Vault, same
// concurrency) and to the raw-Vault ceiling of the writes it needs.
func Ratios(rs []Result) {
	type key struct {
		vault, name string
		c           int
	}
	by := map[key]Result{}
	for _, r := range rs {
		by[key{r.Vault, r.Scenario, r.Concurrency}] = r
	}
	spec := map[string]Scenario{}
	for _, sc := range Scenarios() {
		spec[sc.Name] = sc
	}
	for i := range rs {
		r := &rs[i]
		sc := spec[r.Scenario]
		if b, ok := by[key{r.Vault, sc.Baseline, r.Concurrency}]; ok && sc.Baseline != "" && b.RPS > 0 {
			r.Baseline, r.XBaseline, r.AddedP50 = sc.Baseline, r.RPS/b.RPS, r.P50-b.P50
		}
		var inv float64 // seconds of Vault capacity per request
		for op, n := range sc.Writes {
			raw, ok := by[key{r.Vault, op, r.Concurrency}]
			if !ok || raw.RPS == 0 {
				inv = 0
				break
			}
			inv += float64(n) / raw.RPS
		}
		if inv > 0 {
			r.WriteCeiling = 1 / inv
			r.XWriteCeiling = r.RPS / r.WriteCeiling
		}
	}
}
