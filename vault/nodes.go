package vault

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
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
	cur     int
	open    bool
	probing bool
	state   State
	// onState is told every change of state (the Caddy app logs it once
	// and counts it).
	onState func(State, error)
	stop    chan struct{}
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
		if ctx.Err() != nil {
			return sec, err // the caller gave up: that says nothing about the node
		}
		if !nodeDown(err) {
			n.answered(i, err)
			return sec, err
		}
		if once && !notDelivered(err) {
			n.down(err)
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
// (sealed, or a standby that could not forward).
func notDelivered(err error) bool {
	var re *api.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode == http.StatusServiceUnavailable
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
	start := !n.probing
	n.probing = true
	n.mu.Unlock()
	n.setState(StateUnreachable, err)
	if start {
		go n.probe()
	}
}

// probe asks every node's sys/health until one can serve, preferring the
// active node, then closes the circuit.
func (n *nodes) probe() {
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

// healthiest is the active node, else an unsealed standby.
func (n *nodes) healthiest() (int, bool) {
	standby := -1
	for i, c := range n.clients {
		ctx, cancel := context.WithTimeout(context.Background(), min(n.timeout, time.Second))
		h, err := c.Sys().HealthWithContext(ctx)
		cancel()
		if err != nil || h == nil || h.Sealed || !h.Initialized {
			continue
		}
		if !h.Standby {
			return i, true
		}
		if standby < 0 {
			standby = i
		}
	}
	return standby, standby >= 0
}

func (n *nodes) setState(s State, err error) {
	n.mu.Lock()
	changed := n.state != s
	n.state = s
	hook := n.onState
	n.mu.Unlock()
	if changed && hook != nil {
		hook(s, err)
	}
}

// close stops the probe.
func (n *nodes) close() {
	n.mu.Lock()
	defer n.mu.Unlock()
	select {
	case <-n.stop:
	default:
		close(n.stop)
	}
}
