// Command cardbench is cardproxy's load benchmark. It starts its own Vault
// (a dev server and a Raft-backed single node), a counting proxy in front of
// it, a trivial app, a TLS upstream and an in-process cardproxy, runs every
// scenario for a fixed duration at a fixed concurrency, and prints req/s,
// p50, p99, errors, Vault calls per request and the ratios to the baselines.
//
//	go run ./cmd/cardbench                      # -d 10s -c 32 -vault both
//	go run ./cmd/cardbench -c 32,1 -json bench.json
//	go run ./cmd/cardbench -vault raft -run 'new-card' -cpuprofile cpu.out
//	go tool pprof -tagfocus role=cardproxy -top cpu.out   # cardproxy's own CPU
//
// It needs a vault binary (scripts/vault.sh; $CARDPROXY_VAULT_BIN).
// docs/performance.md has the results and what limits them.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/cardproxy/cardproxy/internal/bench"
)

func main() {
	var (
		o       bench.Options
		conc    = flag.String("c", "32", "concurrent clients; a comma-separated list runs one pass per value (e.g. 32,1)")
		vaults  = flag.String("vault", "both", "Vault kind: dev, raft or both")
		run     = flag.String("run", "", "only the scenarios whose name matches this regular expression")
		jsonOut = flag.String("json", "", "also write the results as JSON to this file")
		cpuProf = flag.String("cpuprofile", "", "write a CPU profile of the whole run (goroutines are labelled role=cardproxy|loadgen|app|upstream|vaultproxy)")
		list    = flag.Bool("list", false, "list the scenarios and exit")
	)
	flag.DurationVar(&o.Duration, "d", bench.DefaultDuration, "duration of each scenario (after a warm-up of a fifth of it, at most 1s)")
	flag.IntVar(&o.Cards, "cards", 100, "cards in the repeat pool")
	flag.DurationVar(&bench.DedupeCache, "dedupe-cache", 0, "the vault dedupe_cache of the cardproxy under test (0: off)")
	flag.BoolVar(&bench.IndexHMACInProcess, "index-hmac-in-process", false, "the vault option index_hmac_in_process of the cardproxy under test")
	rss := flag.Bool("rss", false, "instead: peak memory of a separate cardproxy process under -rss-clients concurrent uploads of -rss-size bytes")
	var ro bench.RSSOptions
	flag.StringVar(&ro.Bin, "rss-bin", "", "the cardproxy binary for -rss (default: go build ./cmd/cardproxy)")
	flag.IntVar(&ro.Clients, "rss-clients", 64, "concurrent uploads for -rss")
	flag.IntVar(&ro.Size, "rss-size", 1<<20-1024, "upload size in bytes for -rss (card_tokenize's max_body is 1 MiB)")
	flag.IntVar(&ro.PerClient, "rss-uploads", 4, "uploads per client for -rss")
	flag.Parse()
	if *rss {
		if err := runRSS(ro); err != nil {
			fail(err)
		}
		return
	}
	if *list {
		for _, s := range bench.Scenarios() {
			fmt.Printf("%-16s %s\n", s.Name, s.Kind)
		}
		return
	}
	for _, f := range strings.Split(*conc, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-c: %q is not a positive number", f))
		}
		o.Concurrency = append(o.Concurrency, n)
	}
	switch *vaults {
	case "both":
		o.Vaults = []string{"dev", "raft"}
	case "dev", "raft":
		o.Vaults = []string{*vaults}
	default:
		fail(fmt.Errorf("-vault: %q is not dev, raft or both", *vaults))
	}
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			fail(fmt.Errorf("-run: %w", err))
		}
		o.Run = re
	}
	o.Log = os.Stderr
	if *cpuProf != "" {
		f, err := os.Create(*cpuProf)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer f.Close()
		defer pprof.StopCPUProfile()
	}
	rs, err := bench.Run(o)
	fmt.Println()
	bench.Table(os.Stdout, rs)
	if *jsonOut != "" {
		if werr := bench.WriteJSON(*jsonOut, o, rs); werr != nil && err == nil {
			err = werr
		}
	}
	if err != nil {
		pprof.StopCPUProfile()
		fail(err)
	}
	for _, r := range rs {
		if r.Errors > 0 {
			pprof.StopCPUProfile()
			fail(fmt.Errorf("%s (%s Vault, c=%d): %d errors, first: %s", r.Scenario, r.Vault, r.Concurrency, r.Errors, r.FirstError))
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cardbench:", err)
	os.Exit(1)
}

// runRSS builds cardproxy unless given, and measures its peak memory.
func runRSS(o bench.RSSOptions) error {
	if o.Bin == "" {
		dir, err := os.MkdirTemp("", "cardbench-bin-*")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		o.Bin = filepath.Join(dir, "cardproxy")
		build := exec.Command("go", "build", "-o", o.Bin, "./cmd/cardproxy")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("building cardproxy: %w", err)
		}
	}
	rs, err := bench.MeasureRSS(o)
	if err != nil {
		return err
	}
	bench.PrintRSS(os.Stdout, o, rs)
	return nil
}
