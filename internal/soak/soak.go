// Package soak is cardproxy's soak test (cmd/cardsoak): a real Vault dev
// server, a recording merchant app, an HTTPS PSP that echoes what it gets,
// and one in-process Caddy with card_tokenize in front of the app and
// card_detokenize (preset multisafepay) in front of the PSP. N MultiSafepay
// direct orders go through both at concurrency C; each must reach the PSP
// exactly as the shopper sent it, with no card data at the app, and memory
// and goroutines must come back after the load.
package soak

import (
	"bufio"
	"context"
	_ "embed"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/cardproxy/cardproxy/caddymodule"
	"github.com/cardproxy/cardproxy/internal/procstat"
	"github.com/cardproxy/cardproxy/internal/testcaddy"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
)

//go:embed soak.Caddyfile
var caddyfile string

// Options of a soak run; zero values take the defaults of cmd/cardsoak.
type Options struct {
	N, C          int           // round trips, concurrency
	New           float64       // fraction of round trips with a fresh random card
	Pool          int           // repeat cards
	Seed          uint64        // card choice
	Idle          time.Duration // idle after the run, before the last sample
	MaxGoroutines int           // allowed goroutine growth (idle vs before)
	MaxRSSMiB     int           // allowed RSS growth in MiB (idle vs before)
	MaxErrors     int           // allowed failed round trips
	Progress      io.Writer     // a line every 10% (nil: none)
	WarmUp        int           // round trips before the "before" sample (default 2×C)
}

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.N, 50000)
	def(&o.C, 32)
	def(&o.Pool, 500)
	def(&o.MaxGoroutines, 100)
	def(&o.MaxRSSMiB, 128)
	def(&o.WarmUp, 2*o.C)
	if o.Idle <= 0 {
		o.Idle = 3 * time.Second
	}
	return o
}

type soak struct {
	client                *http.Client
	ingressURL, egressURL string
	app, psp              *inbox
	pspKey                string
	pool                  []testCard
}

// Run sets everything up, runs the soak and tears it down.
func Run(ctx context.Context, o Options) (*Report, error) {
	o = o.withDefaults()
	dir, err := os.MkdirTemp("", "cardsoak-*")
	if err != nil {
		return nil, err
	}
	var rep *Report
	defer func() { // the cardproxy log stays for a failed run
		if rep == nil || len(rep.Failures()) == 0 {
			os.RemoveAll(dir)
		}
	}()
	vs, err := vaulttest.Start()
	if err != nil {
		return nil, err
	}
	defer vs.Stop()
	appSrv, app := newApp()
	defer appSrv.Close()
	pspSrv, psp, ca, err := newPSP(dir)
	if err != nil {
		return nil, err
	}
	defer pspSrv.Close()
	ports := [2]int{}
	for i := range ports {
		if ports[i], err = vaulttest.FreePort(); err != nil {
			return nil, err
		}
	}
	s := &soak{
		client: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConnsPerHost: o.C, IdleConnTimeout: 90 * time.Second,
		}},
		ingressURL: fmt.Sprintf("http://127.0.0.1:%d/v1/json/orders", ports[0]),
		egressURL:  fmt.Sprintf("http://127.0.0.1:%d/v1/json/orders", ports[1]),
		app:        app, psp: psp, pspKey: "soak-psp-key",
	}
	logFile := filepath.Join(dir, "cardproxy.log")
	for k, v := range map[string]string{
		"CARDSOAK_LOG": logFile, "CARDSOAK_VAULT_ADDR": vs.Addr, "CARDSOAK_VAULT_TOKEN": vs.Token,
		"CARDSOAK_INGRESS_PORT": fmt.Sprint(ports[0]), "CARDSOAK_EGRESS_PORT": fmt.Sprint(ports[1]),
		"CARDSOAK_APP": appSrv.Listener.Addr().String(), "CARDSOAK_PSP_URL": pspSrv.URL,
		"CARDSOAK_PSP_CA": ca, "CARDSOAK_PSP_KEY": s.pspKey,
	} {
		if err := os.Setenv(k, v); err != nil {
			return nil, err
		}
	}
	stop, err := testcaddy.Load(caddyfile)
	if err != nil {
		return nil, err
	}
	defer stop()

	r := rand.New(rand.NewPCG(o.Seed, 0))
	for i := 0; i < o.Pool; i++ {
		s.pool = append(s.pool, newCard(r, i))
	}
	quiet := o
	quiet.Progress = nil
	warm := newReport(quiet, o.WarmUp)
	warm.start = time.Now()
	s.run(ctx, quiet, warm, 1<<30)
	if len(warm.Errors) > 0 || warm.Inexact > 0 || warm.Leaks > 0 {
		return nil, fmt.Errorf("warm-up failed: %v, %d inexact, %d leaks", warm.Errors, warm.Inexact, warm.Leaks)
	}

	rep = newReport(o, o.N)
	rep.Log = logFile
	settle := func() {
		s.client.CloseIdleConnections()
		runtime.GC()
		debug.FreeOSMemory()
	}
	settle()
	rep.Before = sample(vs.Pid())
	rep.start = time.Now()
	s.run(ctx, o, rep, 0)
	rep.Elapsed = time.Since(rep.start)
	rep.After = sample(vs.Pid())
	settle()
	time.Sleep(o.Idle)
	rep.Idle = sample(vs.Pid())
	rep.Pending = app.len() + psp.len()
	rep.LogLines, rep.LogLeaks, err = scanLog(logFile)
	return rep, err
}

// run does rep.N round trips at concurrency o.C; ids start at base.
func (s *soak) run(ctx context.Context, o Options, rep *Report, base int) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < o.C; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(o.Seed, uint64(base+w+1)))
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= rep.N {
					return
				}
				c := newCard(r, -1)
				if r.Float64() >= o.New {
					c = s.pool[r.IntN(len(s.pool))]
				}
				rep.add(i, c, s.roundTrip(base+i, c))
			}
		}()
	}
	wg.Wait()
}

// Sample is the process's (and Vault's) memory and goroutines at one moment.
type Sample struct {
	RSSKiB, VaultRSSKiB int64
	Goroutines          int
}

func sample(vaultPid int) Sample {
	return Sample{procstat.KiB("self", "VmRSS"), procstat.KiB(strconv.Itoa(vaultPid), "VmRSS"), runtime.NumGoroutine()}
}

var digitRun = regexp.MustCompile(`[0-9]{12,19}`)

// scanLog counts cardproxy's log lines and those holding a Luhn-valid digit
// run shaped like a soak card (15–16 digits, starting 3, 4 or 5): fresh
// cards are not kept, so any such run is suspect.
func scanLog(path string) (lines, leaks int, err error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0, fmt.Errorf("cardproxy log: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		lines++
		for _, d := range digitRun.FindAllString(sc.Text(), -1) {
			if (d[0] == '3' || d[0] == '4' || d[0] == '5') && len(d) >= 15 && len(d) <= 16 && withLuhn(d[:len(d)-1]) == d {
				leaks++
				break
			}
		}
	}
	return lines, leaks, sc.Err()
}
