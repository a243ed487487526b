// Command cardsoak is cardproxy's soak test (not run in CI): a real Vault
// dev server, a recording app, an echoing HTTPS PSP and one in-process Caddy
// with card_tokenize and card_detokenize, then N round trips at concurrency
// C. It exits non-zero on any failed or inexact round trip, card data at the
// app, or goroutine/RSS growth beyond the bounds. See README "Soak".
//
//	go run ./cmd/cardsoak -n 50000 -c 32 -new 0.2
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"

	"github.com/cardproxy/cardproxy/internal/soak"
)

func main() {
	var o soak.Options
	flag.IntVar(&o.N, "n", 50000, "round trips")
	flag.IntVar(&o.C, "c", 32, "concurrency")
	flag.Float64Var(&o.New, "new", 0.2, "fraction of round trips with a fresh random card (the rest repeat pool cards)")
	flag.IntVar(&o.Pool, "pool", 500, "repeat cards")
	flag.Uint64Var(&o.Seed, "seed", 1, "card choice seed")
	flag.DurationVar(&o.Idle, "idle", 0, "idle after the run before the last sample (default 3s)")
	flag.IntVar(&o.MaxGoroutines, "max-goroutine-growth", 100, "allowed goroutine growth, idle vs before")
	flag.IntVar(&o.MaxRSSMiB, "max-rss-growth", 128, "allowed RSS growth in MiB, idle vs before")
	flag.IntVar(&o.MaxErrors, "max-errors", 0, "allowed failed round trips")
	flag.Parse()
	o.Progress = os.Stderr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := soak.Run(ctx, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cardsoak:", err)
		os.Exit(2)
	}
	rep.Print(os.Stdout)
	if len(rep.Failures()) > 0 {
		os.Exit(1)
	}
}
