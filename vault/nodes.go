package vault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/vault/api"
)

// The Vault nodes cardproxy talks to, and what it does when they fail.
//
// Any unsealed node of a cluster serves requests (standbys forward to the
// active node), so a call goes to the node in use and, when that node cannot
// answer (connection refused or reset, timeout, sealed, no active node yet),
// straight to the next one. When no node answers, the circuit opens: calls
// fail at once with ErrUnavailable, instead of each waiting for its own
// timeouts, while a background probe asks every node's sys/health; the first
// node that answers as active (else as an unsealed standby) closes the
// circuit and is used from then on. Losing any one node costs the cluster's
// own election time plus at most one probe interval.

// ProbeInterval is how often the background probe asks the nodes while the
// circuit is open.
const ProbeInterval = 250 * time.Millisecond

// State is what cardproxy knows of its Vault.
type State string

// States.
const (
	StateOK           State = "ok"           // the last call was answered
	StateUnreachable  State = "unreachable"  // no node answers (circuit open)
	StateUnauthorized State = "unauthorized" // Vault refuses cardproxy's token (403)
)

type nodes struct {
	clients []*api.Client
	addrs   []string
	timeout time.Duration

	mu      sync.Mutex
	hookMu  sync.Mutex // state changes reach the hook one at a time, in order
	cur     int
	open    bool
	probing bool
	state   State
	// onState is told every change of state (the Caddy app logs it once
	// and counts it).
	onState func(State, error)
	stop    chan struct{}
	closed  bool
	// wg counts the probe and its health checks, so close can wait for
	// them before it closes the idle connections.
	wg sync.WaitGroup
}

func newNodes(clients []*api.Client, timeout time.Duration) *nodes {
	n := &nodes{clients: clients, timeout: timeout, state: StateOK, stop: make(chan struct{})}
	for _, c := range clients {
		n.addrs = append(n.addrs, c.Address())
	}
	return n
}

// current is the client of the node in use.
func (n *nodes) current() *api.Client {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.clients[n.cur]
}

// do runs f on the node in use and, when that node cannot answer, on each
// other node once (a single node: once more), then opens the circuit. With
// the circuit open it fails at once. A call that must not run twice (once:
// an unwrap uses up what it reads) goes to another node only when the first
// surely never got it (no connection, or Vault's 503: sealed, standby): a
// timeout or a reset may come after Vault did the work.
func (n *nodes) do(ctx context.Context, once bool, f func(*api.Client) (*api.Secret, error)) (*api.Secret, error) {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: the store is closed", ErrUnavailable)
	}
	if n.open {
		n.mu.Unlock()
		return nil, fmt.Errorf("%w: no Vault node answers (retrying in the background every %s)", ErrUnavailable, ProbeInterval)
	}
	start := n.cur
	n.mu.Unlock()
	tries := max(len(n.clients), 2)
	var sec *api.Secret
	var err error
	for k := 0; k < tries; k++ {
		i := (start + k) % len(n.clients)
		if k > 0 && len(n.clients) == 1 {
			select { // one node: one more try, after a breath
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		sec, err = f(n.clients[i])
		switch ctx.Err() {
		case context.Canceled:
			return sec, err // the caller gave up: that says nothing about the node
		case context.DeadlineExceeded:
			// The operation's time (Store.bound) ran out on this node: it
			// hangs or crawls. Fail the next ones fast until it answers
			// the probe.
			n.down(err)
			return sec, err
		}
		if !nodeDown(err) {
			n.answered(i, err)
			return sec, err
		}
		if once && !notDelivered(err) {
			var re *api.ResponseError
			if errors.As(err, &re) {
				n.answered(i, err) // Vault answered (a 500 of its own): not a node failure
			} else {
				n.down(err)
			}
			return nil, err
		}
	}
	n.down(err)
	return nil, err
}

// nodeDown reports an error that says the node could not serve the request
// (another node may): no answer at all, or Vault's 5xx for sealed, standby
// without an active node, or overloaded.
func nodeDown(err error) bool {
	if err == nil {
		return false
	}
	var re *api.ResponseError
	if !errors.As(err, &re) {
		return true // connection refused / reset, timeout, EOF
	}
	switch re.StatusCode {
	case http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// notDelivered reports an error that proves the request never reached
// Vault's logic: the connection was never made, or Vault answered 503
// (sealed) or that it has no active node to forward to.
func notDelivered(err error) bool {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode == http.StatusServiceUnavailable ||
			strings.Contains(strings.Join(re.Errors, " "), "active cluster node not found")
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// answered records that node i answered (err is Vault's answer, if any).
func (n *nodes) answered(i int, err error) {
	n.mu.Lock()
	n.cur = i
	n.mu.Unlock()
	if isForbidden(err) {
		n.setState(StateUnauthorized, err)
	} else {
		n.setState(StateOK, nil)
	}
}

// down opens the circuit and starts the probe.
func (n *nodes) down(err error) {
	n.mu.Lock()
	n.open = true
	start := !n.probing && !n.closed
	n.probing = n.probing || start
	if start {
		n.wg.Add(1)
	}
	n.mu.Unlock()
	n.setState(StateUnreachable, err)
	if start {
		go n.probe()
	}
}

// probe asks every node's sys/health until one can serve, preferring the
// active node, then closes the circuit.
func (n *nodes) probe() {
	defer n.wg.Done()
	t := time.NewTicker(ProbeInterval)
	defer t.Stop()
	for {
		if i, ok := n.healthiest(); ok {
			n.mu.Lock()
			n.cur, n.open, n.probing = i, false, false
			n.mu.Unlock()
			n.setState(StateOK, nil)
			return
		}
		select {
		case <-t.C:
		case <-n.stop:
			return
		}
	}
}

// healthiest is the active node, else an unsealed standby, asking every
// node at once (a hung node must not delay the others).
func (n *nodes) healthiest() (int, bool) {
	type answer struct {
		i      int
		usable bool
		active bool
	}
	answers := make(chan answer, len(n.clients))
	n.wg.Add(len(n.clients))
	for i, c := range n.clients {
		go func() {
			defer n.wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), min(n.timeout, time.Second))
			defer cancel()
			h, err := c.Sys().HealthWithContext(ctx)
			ok := err == nil && h != nil && !h.Sealed && h.Initialized
			answers <- answer{i, ok, ok && !h.Standby}
		}()
	}
	standby := -1
	for range n.clients {
		a := <-answers
		if a.active {
			return a.i, true // the rest finish on their own
		}
		if a.usable && (standby < 0 || a.i < standby) {
			standby = a.i
		}
	}
	return standby, standby >= 0
}

func (n *nodes) setState(s State, err error) {
	n.hookMu.Lock()
	defer n.hookMu.Unlock()
	n.mu.Lock()
	changed := n.state != s
	n.state = s
	hook := n.onState
	n.mu.Unlock()
	if changed && hook != nil {
		hook(s, err)
	}
}

// close stops the probe and closes the idle connections to every node.
func (n *nodes) close() {
	n.mu.Lock()
	if !n.closed {
		n.closed = true
		close(n.stop)
	}
	n.mu.Unlock()
	n.wg.Wait() // the probe and its health checks (each bounded by a timeout)
	for _, c := range n.clients {
		c.CloneConfig().HttpClient.CloseIdleConnections() // the clone shares the transport
	}
}
