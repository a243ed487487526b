package vault

// Reproducers of the adversarial reliability review, kept as tests: each
// names the claim it once broke.

import (
	"context"
	"errors"
	"net"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/internal/faultproxy"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/relay"
	"github.com/cardproxy/cardproxy/token"
	"github.com/hashicorp/vault/api"
)

// blackHole accepts TCP connections and never answers (what a SIGSTOPped or
// wedged Vault looks like from outside, without the cleanup problems).
func blackHole(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return "http://" + ln.Addr().String()
}

// ---------------------------------------------------------------------------
// Claim 5: a lost answer to an unwrap. DetokenizeCVC (TestUnwrapNeverSentTwice)
// Same for relays: TakeRelay deletes the entry, then unwraps; a lost unwrap
// answer loses the 3-D Secure redirect, reported as Vault failing.
func TestLostUnwrapAnswerRelay(t *testing.T) {
	proxy := faultproxy.Start(t, srv.Addr)
	s := newStore(t, func(c *Config) { c.Address = proxy.URL() })
	ctx := context.Background()
	tn := tenant()
	id, err := s.PutRelay(ctx, tn, relay.Redirect{HTML: "<p>3ds</p>"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	proxy.DropWriteReplies(1, "sys/wrapping/unwrap")
	if _, err := s.TakeRelay(ctx, tn, id); !errors.Is(err, ErrUnavailable) || errors.Is(err, ErrNotFound) {
		t.Errorf("lost unwrap answer reported as %v", err)
	}
}

// ---------------------------------------------------------------------------
// Claim 1: "no dedupe index entry ever points at a missing record" and "a 200
// always carries a token that detokenizes".
//
// tokenize(): when the index write fails with anything but errTaken it calls
// dropRecord — even when the write's outcome is unknown. Here the first index
// write is committed and its answer lost; the retry is answered by Vault with
// a non-CAS 4xx (429 from an open-source rate-limit quota on the index path;
// any non-5xx answer other than the CAS conflict does the same, and so does a
// probe closing the circuit before dropRecord runs). dropRecord deletes the
// record; the committed index entry is marked v:2 ("trusted without reading
// the record"), so every later Tokenize of that card returns a token that
// does not detokenize — with 200 at the ingress.
func TestUnknownIndexWriteKeepsRecord(t *testing.T) {
	proxy := faultproxy.Start(t, srv.Addr)
	s := newStore(t, func(c *Config) { c.Address = proxy.URL() })
	direct := newStore(t)
	ctx := context.Background()
	tn := tenant()
	root := direct.Client()
	quota := "helperg-" + tn
	// 2 requests per minute on this tenant's index paths: the lookup and
	// the first (committed, answer lost) index write pass, the retry is 429.
	if _, err := root.Logical().Write("sys/quotas/rate-limit/"+quota, map[string]any{
		"path": DefaultKVMount + "/data/" + tn + "/idx/*", "rate": 2, "interval": "1m",
	}); err != nil {
		t.Fatalf("quota: %v", err)
	}
	c := card.Card{PAN: "4111111111111111", Expiry: "12/30"}
	proxy.DropWriteReplies(1, "/idx/")
	_, err := s.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c})
	t.Logf("first Tokenize (index answer lost, retry 429): %v", err)
	if _, err := root.Logical().Delete("sys/quotas/rate-limit/" + quota); err != nil {
		t.Fatal(err)
	}
	toks, err := direct.Tokenize(ctx, tn, token.FormatOpaque, []card.Card{c})
	if err != nil {
		t.Fatalf("second Tokenize: %v", err)
	}
	if _, err := direct.Detokenize(ctx, tn, toks[0].Token); err != nil {
		t.Errorf("Tokenize succeeded (reused=%v) with a token that does not detokenize: %v", toks[0].Reused, err)
	}
}

// ---------------------------------------------------------------------------
// Claim 3: "no request hangs longer than the configured timeout". A hung
// Vault (SIGSTOP): the first request waits timeout × max(nodes, 2) (+50 ms)
// before the circuit opens; with N addresses that all lead to the hung
// cluster it is N × timeout.
func TestHungVaultBoundedByTimeout(t *testing.T) {
	v, err := vaulttest.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer v.Stop()
	ctx := context.Background()
	const timeout = 500 * time.Millisecond
	one, err := New(Config{Address: v.Addr, Token: v.Token, Timeout: Duration(timeout)})
	if err != nil {
		t.Fatal(err)
	}
	defer one.Close()
	if err := one.Setup(ctx); err != nil {
		t.Fatal(err)
	}
	// Three addresses leading to the same (soon hung) Vault, as behind three
	// load-balancer VIPs or three nodes of a cluster whose leader is hung.
	var addrs []string
	for range 3 {
		addrs = append(addrs, faultproxy.Start(t, v.Addr).URL())
	}
	three, err := New(Config{Address: strings.Join(addrs, ","), Token: v.Token, Timeout: Duration(timeout)})
	if err != nil {
		t.Fatal(err)
	}
	defer three.Close()
	for _, s := range []*Store{one, three} {
		if _, err := s.Tokenize(ctx, "warm", token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); err != nil {
			t.Fatal(err)
		}
	}
	pid := v.Pid()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer syscall.Kill(pid, syscall.SIGCONT)
	for name, s := range map[string]*Store{"1 address": one, "3 addresses": three} {
		start := time.Now()
		_, err := s.Tokenize(ctx, "warm", token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
		took := time.Since(start)
		start = time.Now()
		_, err2 := s.Tokenize(ctx, "warm", token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
		t.Logf("%s, hung Vault, timeout %s: first request %s (%v); next %s (%v)", name, timeout, took.Round(time.Millisecond), err != nil, time.Since(start).Round(time.Microsecond), err2 != nil)
		if took > timeout+200*time.Millisecond {
			t.Errorf("%s: a request hung %s with timeout %s", name, took.Round(time.Millisecond), timeout)
		}
	}
	syscall.Kill(pid, syscall.SIGCONT)
	start := time.Now()
	for time.Since(start) < 5*time.Second {
		if _, err := one.Tokenize(ctx, "warm", token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}}); err == nil {
			t.Logf("after SIGCONT the circuit closed within %s", time.Since(start).Round(time.Millisecond))
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Error("circuit did not close after SIGCONT")
}

// Claim 3 (the same, without an outage): Vault answers, but each answer
// takes just under the timeout. There is no per-request deadline, so a
// tokenization of a new card (hmac, index read, encrypt, record write,
// index write) takes 5 × latency, far past the configured timeout, and the
// circuit never opens.
func TestSlowVaultBoundedByTimeout(t *testing.T) {
	proxy := faultproxy.Start(t, srv.Addr)
	const timeout = 500 * time.Millisecond
	s := newStore(t, func(c *Config) { c.Address = proxy.URL(); c.Timeout = Duration(timeout) })
	proxy.SetLatency(400 * time.Millisecond)
	start := time.Now()
	_, err := s.Tokenize(context.Background(), tenant(), token.FormatOpaque, []card.Card{{PAN: "4111111111111111"}})
	took := time.Since(start)
	t.Logf("Vault latency 400ms, timeout %s: a new card took %s (err %v)", timeout, took.Round(time.Millisecond), err)
	if took > timeout+200*time.Millisecond {
		t.Errorf("request took %s, configured timeout %s", took.Round(time.Millisecond), timeout)
	}
}

// ---------------------------------------------------------------------------
// Claim 4 ("logged once per change", gauge shows the current state):
// setState decides "changed" under the lock but calls the hook outside it,
// so two changes racing deliver their hooks in either order. Here
// ok→unreachable is decided first, unreachable→ok second, but the hooks run
// ok then unreachable: the last log line and the gauge say "unreachable"
// while the store is OK (and stay so until the next change).
func TestStateHookOrder(t *testing.T) {
	c, err := newClient(Config{Timeout: Duration(time.Second)}, srv.Addr)
	if err != nil {
		t.Fatal(err)
	}
	n := newNodes([]*api.Client{c}, time.Second)
	entered := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []State
	n.onState = func(s State, _ error) {
		if s == StateUnreachable {
			close(entered)
			<-release
		}
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}
	done := make(chan struct{})
	go func() { n.setState(StateUnreachable, errors.New("x")); close(done) }()
	<-entered
	ok := make(chan struct{})
	go func() { n.setState(StateOK, nil); close(ok) }() // while the first hook still runs
	time.Sleep(10 * time.Millisecond)
	close(release)
	<-done
	<-ok
	mu.Lock()
	defer mu.Unlock()
	last := seen[len(seen)-1]
	t.Logf("hooks saw %v; store state %s", seen, n.state)
	if last != n.state {
		t.Errorf("the last state reported (%s) is not the store's state (%s)", last, n.state)
	}
}

// ---------------------------------------------------------------------------
// Claim 6 (held): many stores whose circuit opened, with renewal running,
// Closed: no probe or renewal goroutine left.
func TestNoGoroutineLeak(t *testing.T) {
	root := newStore(t)
	ctx := context.Background()
	dead := blackHole(t)
	before := goroutineKinds()
	for i := range 100 {
		sec, err := root.Client().Auth().Token().Create(&apiTokenCreate{Policies: []string{PolicyTokenize}, TTL: "1m", Renewable: ptr(true)})
		if err != nil {
			t.Fatal(err)
		}
		addr := srv.Addr + "," + dead
		if i%2 == 0 {
			addr = dead + "," + srv.Addr
		}
		s, err := New(Config{Address: addr, Token: sec.Auth.ClientToken, Timeout: Duration(150 * time.Millisecond)}) // a dead node costs its timeout; the live one must answer within it, also under load
		if err != nil {
			t.Fatal(err)
		}
		if on, err := s.StartRenewal(ctx); !on || err != nil {
			t.Fatalf("renewal %v %v", on, err)
		}
		s.nodes.down(errors.New("forced")) // probe running
		s.Close()
	}
	time.Sleep(1500 * time.Millisecond)
	runtime.GC()
	after := goroutineKinds()
	t.Logf("goroutines before/after 100 stores Closed: %+v / %+v", before, after)
	if after.probe > before.probe || after.renew > before.renew {
		t.Errorf("probe/renewal goroutines leaked")
	}
	if after.conn > before.conn+10 {
		t.Errorf("Close leaves %d connection goroutines per 100 stores", after.conn-before.conn)
	}
}

type kinds struct{ conn, probe, renew int }

// goroutineKinds counts the goroutines of Vault connections, probes and
// renewal loops.
func goroutineKinds() kinds {
	buf := make([]byte, 8<<20)
	var k kinds
	for _, st := range strings.Split(string(buf[:runtime.Stack(buf, true)]), "\n\n") {
		switch {
		case strings.Contains(st, "persistConn"):
			k.conn++
		case strings.Contains(st, "(*nodes).probe"):
			k.probe++
		case strings.Contains(st, "renewLoop"):
			k.renew++
		}
	}
	return k
}
