package caddymodule

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/internal/faultproxy"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/cardproxy/cardproxy/vault"
)

// The fault tests of the reliability issue, against real Vault servers:
// checkouts through the ingress while Vault loses answers, restarts or
// loses its leader. Each checks every answer against Vault afterwards: no
// card data at the app, every 200 token detokenizes, every other answer a
// 503 vault_unavailable, no dedupe entry pointing at nothing.

// TestLostWriteReplies (a): a proxy between cardproxy and Vault forwards
// writes — Vault commits them — and then resets the connection instead of
// answering, and now and then resets every connection.
func TestLostWriteReplies(t *testing.T) {
	srv := vaultSrv(t)
	proxy := faultproxy.Start(t, srv.Addr)
	hs := newHarnessAt(t, proxy.URL(), srv.Token, nil)
	direct, err := vault.New(vault.Config{Address: srv.Addr, Token: srv.Token})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	faults := make(chan int)
	go func() {
		n := 0
		for k := 0; ; k++ {
			select {
			case <-stop:
				faults <- n
				return
			case <-time.After(15 * time.Millisecond):
			}
			// Every kind of write the ingress makes: the dedupe hmac, the
			// seal, the record, the index entry.
			path := []string{"/hmac/", "/encrypt/", "/pan/", "/idx/"}[k%4]
			proxy.DropWriteReplies(1, path)
			if k%10 == 9 {
				proxy.ResetAll()
				n++
			}
		}
	}()
	go func() { time.Sleep(4 * time.Second); close(stop) }()
	res := load(t, hs, 4, stop)
	resets := <-faults
	st := proxy.Stats()
	ok, refused := verify(t, direct, hs.tn, res)
	entries, dangling := danglingIndex(t, direct, hs.tn)
	t.Logf("%d checkouts: %d tokenized (all checked), %d refused 503; %d write replies lost, %d connection resets (%d ResetAll); %d index entries, %d dangling",
		len(res), ok, refused, st.Dropped, st.Resets, resets, entries, dangling)
	if st.Dropped < 20 || ok < 100 {
		t.Fatalf("too few faults or checkouts to mean anything: %d dropped, %d ok", st.Dropped, ok)
	}
	if dangling != 0 {
		t.Errorf("%d index entries point at no record", dangling)
	}
}

// TestVaultRestart (b): a single Vault with persistent (Raft) storage is
// killed under load and started again.
func TestVaultRestart(t *testing.T) {
	c := vaulttest.StartRaft(t)
	setupCluster(t, c)
	hs := newHarnessAt(t, c.Nodes[0].Addr, c.Token, nil)
	direct, err := vault.New(vault.Config{Address: c.Nodes[0].Addr, Token: c.Token})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var killed, restarted time.Time
	go func() {
		time.Sleep(time.Second)
		killed = time.Now()
		c.Kill(0)
		time.Sleep(time.Second)
		if err := c.Restart(0); err != nil {
			t.Error(err)
		}
		restarted = time.Now()
		time.Sleep(1500 * time.Millisecond)
		close(stop)
	}()
	res := load(t, hs, 4, stop)
	ok, refused := verify(t, direct, hs.tn, res)
	back := recovery(t, res, killed, restarted)
	t.Logf("%d checkouts: %d tokenized (all checked), %d refused 503; Vault killed, back %s after it was unsealed again",
		len(res), ok, refused, back)
	if _, dangling := danglingIndex(t, direct, hs.tn); dangling != 0 {
		t.Errorf("%d index entries point at no record", dangling)
	}
}

// TestLeaderLoss (c): the active node of a 3-node Raft cluster is killed
// under load; cardproxy knows all three addresses.
func TestLeaderLoss(t *testing.T) {
	c := vaulttest.StartCluster(t, 3)
	setupCluster(t, c)
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	hs := newHarnessAt(t, strings.Join(c.Addrs(), ","), c.Token, nil)
	stop := make(chan struct{})
	var killed, elected time.Time
	go func() {
		time.Sleep(time.Second)
		killed = time.Now()
		c.Kill(leader)
		if _, err := c.WaitLeader(60 * time.Second); err != nil {
			t.Error(err)
		}
		elected = time.Now()
		time.Sleep(2 * time.Second)
		close(stop)
	}()
	res := load(t, hs, 4, stop)
	if _, err := c.WaitStable(60 * time.Second); err != nil {
		t.Fatal(err)
	}
	var alive []string
	for i, a := range c.Addrs() {
		if i != leader {
			alive = append(alive, a)
		}
	}
	direct, err := vault.New(vault.Config{Address: strings.Join(alive, ","), Token: c.Token})
	if err != nil {
		t.Fatal(err)
	}
	ok, refused := verify(t, direct, hs.tn, res)
	back := recovery(t, res, killed, elected)
	t.Logf("%d checkouts: %d tokenized (all checked), %d refused 503; new leader %s after the kill, cardproxy back %s after that",
		len(res), ok, refused, elected.Sub(killed).Round(time.Millisecond), back)
	if back > 5*time.Second {
		t.Errorf("cardproxy took %s after the election to serve again", back)
	}
}

// setupCluster creates cardproxy's mounts and keys on a cluster.
func setupCluster(t *testing.T, c *vaulttest.Cluster) {
	t.Helper()
	s, err := vault.New(vault.Config{Address: strings.Join(c.Addrs(), ","), Token: c.Token})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := s.Setup(ctx); err != nil {
		t.Fatal(err)
	}
}

// recovery is how long after Vault was back (ready) the first checkout that
// started after it succeeded; it fails if a checkout was refused outside the
// outage (before down or more than 5s after ready).
func recovery(t *testing.T, res []sent, down, ready time.Time) time.Duration {
	t.Helper()
	var first time.Time
	for _, s := range res {
		if s.code != 200 && (s.done.Before(down) || s.at.After(ready.Add(5*time.Second))) {
			t.Errorf("refused outside the outage: started %s after it", s.at.Sub(down))
		}
		if s.code == 200 && s.at.After(ready) && (first.IsZero() || s.done.Before(first)) {
			first = s.done
		}
	}
	if first.IsZero() {
		t.Fatal("no checkout succeeded after Vault was back")
	}
	return first.Sub(ready).Round(time.Millisecond)
}
