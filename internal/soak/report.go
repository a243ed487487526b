package soak

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Report is a soak run's figures.
type Report struct {
	o                  Options
	N                  int
	mu                 sync.Mutex
	Ingress, Egress    int            // requests sent on each leg
	Errors             map[string]int // failed round trips by kind
	spans              map[string][2]time.Duration
	start              time.Time
	Exact, Inexact     int
	InexactKinds       map[string]int // which fields differed
	Leaks              int            // round trips with card data at the app
	LeakKinds          map[string]int
	Repeat, TokenSplit int            // repeat-card round trips; those whose PAN token differed from the card's first
	tokens             map[int]string // pool index → first PAN token
	ingressLat         []time.Duration
	egressLat          []time.Duration
	Elapsed            time.Duration
	Before, After      Sample
	Idle               Sample
	Pending            int // requests still held by the app or the PSP after the run
	LogLines, LogLeaks int
	Log                string // cardproxy's log (kept when the run failed)
}

func newReport(o Options, n int) *Report {
	return &Report{o: o, N: n, Errors: map[string]int{}, spans: map[string][2]time.Duration{}, InexactKinds: map[string]int{}, LeakKinds: map[string]int{},
		tokens: map[int]string{}, ingressLat: make([]time.Duration, 0, n), egressLat: make([]time.Duration, 0, n)}
}

func (r *Report) add(i int, c testCard, t trip) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Ingress++
	r.ingressLat = append(r.ingressLat, t.ingress)
	if t.egress > 0 {
		r.Egress++
		r.egressLat = append(r.egressLat, t.egress)
	}
	switch {
	case t.kind != "":
		at := time.Since(r.start).Round(time.Second)
		sp, seen := r.spans[t.kind]
		if !seen {
			sp[0] = at
		}
		r.spans[t.kind] = [2]time.Duration{sp[0], at}
		r.Errors[t.kind]++
	case t.leak != "":
		r.Leaks++
		r.LeakKinds[t.leak]++
	case t.exact:
		r.Exact++
	default:
		r.Inexact++
		r.InexactKinds[t.inexact]++
	}
	if c.pool >= 0 && t.panToken != "" {
		r.Repeat++
		if first, ok := r.tokens[c.pool]; !ok {
			r.tokens[c.pool] = t.panToken
		} else if first != t.panToken {
			r.TokenSplit++
		}
	}
	if p := r.o.Progress; p != nil && r.N >= 10 && r.Ingress%(r.N/10) == 0 {
		fmt.Fprintf(p, "cardsoak: %d/%d round trips, %d errors\n", r.Ingress, r.N, r.failed())
	}
}

func (r *Report) failed() int {
	n := 0
	for _, v := range r.Errors {
		n += v
	}
	return n
}

// Failures are the reasons the run failed; none means it passed.
func (r *Report) Failures() []string {
	var f []string
	if n := r.failed(); n > r.o.MaxErrors {
		f = append(f, fmt.Sprintf("%d failed round trips (allowed %d)", n, r.o.MaxErrors))
	}
	if r.Inexact > 0 {
		f = append(f, fmt.Sprintf("%d inexact round trips", r.Inexact))
	}
	if r.Leaks > 0 || r.LogLeaks > 0 {
		f = append(f, fmt.Sprintf("card data at the app in %d round trips, in %d log lines", r.Leaks, r.LogLeaks))
	}
	if r.TokenSplit > 0 {
		f = append(f, fmt.Sprintf("%d repeat cards got another PAN token", r.TokenSplit))
	}
	if g := r.Idle.Goroutines - r.Before.Goroutines; g > r.o.MaxGoroutines {
		f = append(f, fmt.Sprintf("goroutines grew by %d (allowed %d)", g, r.o.MaxGoroutines))
	}
	if m := (r.Idle.RSSKiB - r.Before.RSSKiB) / 1024; m > int64(r.o.MaxRSSMiB) {
		f = append(f, fmt.Sprintf("RSS grew by %d MiB (allowed %d)", m, r.o.MaxRSSMiB))
	}
	return f
}

// Print writes the figures and the verdict.
func (r *Report) Print(w io.Writer) {
	o := r.o
	fmt.Fprintf(w, "cardsoak: %d round trips at concurrency %d, %.0f%% fresh cards (pool %d), in %s (%.0f round trips/s)\n",
		r.N, o.C, 100*o.New, o.Pool, r.Elapsed.Round(time.Millisecond), float64(r.Ingress)/r.Elapsed.Seconds())
	fmt.Fprintf(w, "requests:   ingress %d, egress %d\n", r.Ingress, r.Egress)
	fmt.Fprintf(w, "errors:     %d%s\n", r.failed(), kinds(r.Errors, r.spans))
	fmt.Fprintf(w, "exactness:  exact %d, inexact %d%s\n", r.Exact, r.Inexact, kinds(r.InexactKinds, nil))
	fmt.Fprintf(w, "card data at the app: %d round trips%s; cardproxy log: %d lines, %d with a card number\n",
		r.Leaks, kinds(r.LeakKinds, nil), r.LogLines, r.LogLeaks)
	if r.Pending > 0 {
		fmt.Fprintf(w, "pending:    %d requests the app or the PSP got after the client gave up\n", r.Pending)
	}
	fmt.Fprintf(w, "dedupe:     %d repeat-card round trips, %d with another PAN token\n", r.Repeat, r.TokenSplit)
	fmt.Fprintf(w, "latency:    ingress p50 %s p99 %s | egress p50 %s p99 %s\n",
		pct(r.ingressLat, 50), pct(r.ingressLat, 99), pct(r.egressLat, 50), pct(r.egressLat, 99))
	fmt.Fprintf(w, "%-28s %10s %11s %12s\n", "memory", "RSS", "goroutines", "Vault RSS")
	for _, s := range []struct {
		name string
		s    Sample
	}{{"before (after warm-up)", r.Before}, {"after", r.After}, {"after GC + " + o.Idle.String() + " idle", r.Idle}} {
		fmt.Fprintf(w, "  %-26s %6.1f MiB %11d %8.1f MiB\n", s.name, mib(s.s.RSSKiB), s.s.Goroutines, mib(s.s.VaultRSSKiB))
	}
	fmt.Fprintf(w, "growth:     goroutines %+d (allowed %d), RSS %+.1f MiB (allowed %d)\n",
		r.Idle.Goroutines-r.Before.Goroutines, o.MaxGoroutines, mib(r.Idle.RSSKiB-r.Before.RSSKiB), o.MaxRSSMiB)
	if f := r.Failures(); len(f) > 0 {
		fmt.Fprintf(w, "FAIL: %s\n", strings.Join(f, "; "))
		fmt.Fprintf(w, "cardproxy log kept: %s\n", r.Log)
	} else {
		fmt.Fprintln(w, "PASS")
	}
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// kinds lists counts by kind, with the span of the run they fell in.
func kinds(m map[string]int, spans map[string][2]time.Duration) string {
	if len(m) == 0 {
		return ""
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "\n    %6d  %s", m[k], k)
		if sp, ok := spans[k]; ok {
			fmt.Fprintf(&b, " [%s–%s into the run]", sp[0], sp[1])
		}
	}
	return b.String()
}

func pct(d []time.Duration, p int) string {
	if len(d) == 0 {
		return "-"
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[(len(s)-1)*p/100].Round(10 * time.Microsecond).String()
}
