package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"runtime/pprof"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/vault/api"
)

// errPoolEmpty ends a worker early: a single-use pool (CVC tokens, wrapping
// tokens, KV paths) ran out. It is not an error; the scenario's rate is taken
// over the time it ran.
var errPoolEmpty = errors.New("pool empty")

// worker is one closed-loop client: it sends the next request when the last
// one has been answered.
type worker struct {
	rng    *rand.Rand
	client *http.Client
	vc     *api.Client
	lat    []time.Duration
}

// newClient is the load generator's HTTP client: keep-alive with an idle pool
// larger than the concurrency, so no request pays for a new connection.
func newClient(c int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{MaxIdleConns: 0, MaxIdleConnsPerHost: 2 * c, DisableCompression: true},
		Timeout:   60 * time.Second,
	}
}

// post sends body as JSON and returns the answer's body; anything but a 200
// is an error that quotes the answer.
func (w *worker) post(url string, body []byte) ([]byte, error) {
	resp, err := w.client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %.200s", resp.StatusCode, b)
	}
	return b, nil
}

// run is the outcome of one fixed-duration load run.
type run struct {
	requests, errors int
	firstErr         string
	lat              []time.Duration // sorted
	elapsed          time.Duration
	exhausted        bool // a single-use pool ran out before the end
}

// load runs c workers, each calling do in a loop until d has passed (a
// request started before the end is waited for and counted).
func load(c int, d time.Duration, client *http.Client, vc *api.Client, do func(*worker) error) run {
	var (
		wg        sync.WaitGroup
		errs      atomic.Int64
		exhausted atomic.Bool
		errOnce   sync.Once
		firstErr  string
	)
	workers := make([]*worker, c)
	start := time.Now()
	deadline := start.Add(d)
	for i := range workers {
		w := &worker{rng: rand.New(rand.NewPCG(rand.Uint64(), uint64(i))), client: client, vc: vc}
		workers[i] = w
		wg.Add(1)
		go pprof.Do(context.Background(), pprof.Labels("role", "loadgen"), func(context.Context) {
			defer wg.Done()
			for time.Now().Before(deadline) {
				t0 := time.Now()
				err := do(w)
				if errors.Is(err, errPoolEmpty) {
					exhausted.Store(true)
					return
				}
				w.lat = append(w.lat, time.Since(t0))
				if err != nil {
					errs.Add(1)
					errOnce.Do(func() { firstErr = err.Error() })
				}
			}
		})
	}
	wg.Wait()
	r := run{elapsed: time.Since(start), errors: int(errs.Load()), firstErr: firstErr, exhausted: exhausted.Load()}
	for _, w := range workers {
		r.lat = append(r.lat, w.lat...)
	}
	slices.Sort(r.lat)
	r.requests = len(r.lat)
	return r
}

// percentile of sorted latencies, in milliseconds.
func percentile(lat []time.Duration, p float64) float64 {
	if len(lat) == 0 {
		return 0
	}
	i := int(p * float64(len(lat)-1))
	return float64(lat[i]) / float64(time.Millisecond)
}

// fill calls f n times on c goroutines (preparation, not measured) and
// returns the first error.
func fill(n, c int, client *http.Client, vc *api.Client, f func(*worker) error) error {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		fail error
	)
	for i := 0; i < min(c, n); i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := &worker{rng: rand.New(rand.NewPCG(rand.Uint64(), uint64(i))), client: client, vc: vc}
			for next.Add(1) <= int64(n) {
				if err := f(w); err != nil {
					mu.Lock()
					if fail == nil {
						fail = err
					}
					mu.Unlock()
					return
				}
			}
		}()
	}
	wg.Wait()
	return fail
}
