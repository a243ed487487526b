package vaulttest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Node is one Raft-backed Vault server of a Cluster.
type Node struct {
	ID          string // node0, node1, …
	Addr        string // API: http://127.0.0.1:port
	ClusterAddr string // Raft and request forwarding: https://127.0.0.1:port
	Dir         string // vault.hcl, raft/ (the data) and vault.log
	proc        *proc  // nil before the first start
}

// ClusterOptions tunes NewCluster. The zero value is what tests want.
type ClusterOptions struct {
	// PerformanceMultiplier is storage "raft" performance_multiplier, the
	// factor on Raft's heartbeat, election and leader-lease timeouts. 0
	// means 1, the fastest Vault accepts (Vault's own default is 5: elections
	// five times slower). Higher values tolerate a loaded CI box better.
	PerformanceMultiplier int
	// Timeout bounds the cluster's start-up, and a Restart; 0 means 2 minutes.
	Timeout time.Duration
}

// Cluster is n Vault servers with integrated (Raft) storage on loopback,
// initialised with one unseal key share, unsealed, every node a voter,
// KV v2 mounted at secret/ (as on a dev server). Data persists in each
// node's Dir across Stop/Kill and Restart.
type Cluster struct {
	Nodes     []*Node
	Token     string // root token
	UnsealKey string // the one unseal key share (base64)

	bin  string
	dir  string
	opts ClusterOptions
	mu   sync.Mutex // serialises Kill/Stop/Restart/Close
}

// StartRaft starts a single-node Raft-backed Vault for one test and removes
// it (processes and data) when the test ends. It never skips.
func StartRaft(t testing.TB) *Cluster { t.Helper(); return StartCluster(t, 1) }

// StartCluster starts an n-node cluster for one test (see NewCluster) and
// removes it when the test ends; a failed test logs each node's log tail.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	c, err := NewCluster(n, ClusterOptions{})
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			for _, nd := range c.Nodes {
				t.Logf("vaulttest: %s log tail:\n%s", nd.ID, tailFile(nd.logPath(), 20))
			}
		}
		c.Close()
	})
	return c
}

// NewCluster starts n nodes, initialises node0, joins the others to it
// through sys/storage/raft/join, unseals everyone and waits until node0 is
// active, every node unsealed and the Raft configuration lists n voters.
// The caller must Close it.
func NewCluster(n int, opts ClusterOptions) (*Cluster, error) {
	if n < 1 {
		return nil, errors.New("vaulttest: a cluster needs at least one node")
	}
	if opts.PerformanceMultiplier == 0 {
		opts.PerformanceMultiplier = 1
	}
	if opts.Timeout == 0 {
		opts.Timeout = 2 * time.Minute
	}
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "cardproxy-raft-*")
	if err != nil {
		return nil, err
	}
	c := &Cluster{bin: bin, dir: dir, opts: opts}
	if err := c.bootstrap(n); err != nil {
		err = fmt.Errorf("%w\n%s", err, c.tails())
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) bootstrap(n int) error {
	deadline := time.Now().Add(c.opts.Timeout)
	for i := 0; i < n; i++ {
		nd, err := c.newNode(i)
		if err != nil {
			return err
		}
		c.Nodes = append(c.Nodes, nd)
		if err := c.spawn(nd); err != nil {
			return err
		}
	}
	for _, nd := range c.Nodes {
		if err := c.waitListening(nd, time.Until(deadline)); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	leader := c.Nodes[0]
	var init struct {
		Keys  []string `json:"keys_base64"`
		Token string   `json:"root_token"`
	}
	if err := call(ctx, "PUT", leader.Addr, "sys/init", "",
		map[string]int{"secret_shares": 1, "secret_threshold": 1}, &init); err != nil {
		return err
	}
	if len(init.Keys) != 1 || init.Token == "" {
		return errors.New("vaulttest: sys/init returned no key or token")
	}
	c.UnsealKey, c.Token = init.Keys[0], init.Token
	if err := c.unseal(ctx, leader, Active, time.Until(deadline)); err != nil {
		return err
	}
	if err := call(ctx, "POST", leader.Addr, "sys/mounts/secret", c.Token,
		map[string]any{"type": "kv", "options": map[string]string{"version": "2"}}, nil); err != nil {
		return err
	}
	// Autopilot adds a joining node as a non-voter and promotes it once it
	// has sent an echo heartbeat (every 5s) and been healthy for
	// server_stabilization_time (10s by default): 1s keeps a 3-node start-up
	// short. (VAULT_RAFT_AUTOPILOT_DISABLE would add voters at once, but
	// saves nothing overall: a node's first 3-6s of Raft run with 3x
	// timeouts, so an election right after start-up is as much slower.)
	if err := call(ctx, "POST", leader.Addr, "sys/storage/raft/autopilot/configuration", c.Token,
		map[string]string{"server_stabilization_time": "1s"}, nil); err != nil {
		return err
	}
	// The followers join at once: their autopilot stabilisation overlaps.
	errs := make([]error, len(c.Nodes))
	var wg sync.WaitGroup
	for i, nd := range c.Nodes[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := call(ctx, "PUT", nd.Addr, "sys/storage/raft/join", "",
				map[string]string{"leader_api_addr": leader.Addr}, nil); err != nil {
				errs[i] = fmt.Errorf("%s: %w", nd.ID, err)
				return
			}
			errs[i] = c.unseal(ctx, nd, Standby, time.Until(deadline))
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	return poll(time.Until(deadline), fmt.Sprintf("%d Raft voters", n), func() (bool, error) {
		v, err := c.voters(ctx, leader)
		return err == nil && v == n, nil
	})
}

func (c *Cluster) newNode(i int) (*Node, error) {
	api, err := FreePort()
	if err != nil {
		return nil, err
	}
	clu, err := FreePort()
	if err != nil {
		return nil, err
	}
	nd := &Node{
		ID:          fmt.Sprintf("node%d", i),
		Addr:        fmt.Sprintf("http://127.0.0.1:%d", api),
		ClusterAddr: fmt.Sprintf("https://127.0.0.1:%d", clu),
		Dir:         filepath.Join(c.dir, fmt.Sprintf("node%d", i)),
	}
	if err := os.MkdirAll(filepath.Join(nd.Dir, "raft"), 0o700); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf(`storage "raft" {
  path                   = %q
  node_id                = %q
  performance_multiplier = %d
  autopilot_reconcile_interval = "1s"
  autopilot_update_interval    = "500ms"
}
listener "tcp" {
  address         = "127.0.0.1:%d"
  cluster_address = "127.0.0.1:%d"
  tls_disable     = true
}
api_addr      = %q
cluster_addr  = %q
disable_mlock = true
ui            = false
`, filepath.Join(nd.Dir, "raft"), nd.ID, c.opts.PerformanceMultiplier, api, clu, nd.Addr, nd.ClusterAddr)
	return nd, os.WriteFile(nd.confPath(), []byte(conf), 0o600)
}

func (nd *Node) confPath() string { return filepath.Join(nd.Dir, "vault.hcl") }
func (nd *Node) logPath() string  { return filepath.Join(nd.Dir, "vault.log") }

func (nd *Node) running() bool { return nd.proc != nil && !nd.proc.exited() }

func (c *Cluster) spawn(nd *Node) error {
	p, err := spawn(c.bin, nd.logPath(), nd.Dir, "server", "-config="+nd.confPath())
	if err != nil {
		return fmt.Errorf("%s: %w", nd.ID, err)
	}
	nd.proc = p
	return nil
}

// waitListening waits until nd answers sys/health at all (any state).
func (c *Cluster) waitListening(nd *Node, limit time.Duration) error {
	return poll(limit, nd.ID+" listening", func() (bool, error) {
		if nd.proc.exited() {
			return false, fmt.Errorf("vaulttest: %s exited during start-up", nd.ID)
		}
		return health(context.Background(), nd.Addr) != Down, nil
	})
}

// unseal submits the key to nd and waits until it reports want (Active or
// Standby; a standby may also turn out active, which also counts).
func (c *Cluster) unseal(ctx context.Context, nd *Node, want Health, limit time.Duration) error {
	if err := call(ctx, "PUT", nd.Addr, "sys/unseal", "", map[string]string{"key": c.UnsealKey}, nil); err != nil {
		return fmt.Errorf("%s: %w", nd.ID, err)
	}
	return poll(limit, nd.ID+" "+want.String(), func() (bool, error) {
		if nd.proc.exited() {
			return false, fmt.Errorf("vaulttest: %s exited while unsealing", nd.ID)
		}
		h := health(ctx, nd.Addr)
		return h == want || (want == Standby && h == Active), nil
	})
}

// Kill sends SIGKILL to node i and waits for it to exit: no step-down, no
// flush, as in a crash. Killing a node that is not running is a no-op.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if nd := c.Nodes[i]; nd.running() {
		nd.proc.kill()
	}
}

// Stop shuts node i down with SIGTERM (Vault seals and, when active, steps
// down), SIGKILL after 10s. Stopping a node that is not running is a no-op.
func (c *Cluster) Stop(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if nd := c.Nodes[i]; nd.running() {
		nd.proc.stop(10 * time.Second)
	}
}

// Restart starts node i again on the same data and ports (stopping it first
// if it still runs), unseals it and waits until it is a standby or active.
// When a quorum of nodes runs, it then waits for WaitStable too; without
// one (the first nodes of a full restart) there is no leader to wait for.
func (c *Cluster) Restart(i int) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	nd := c.Nodes[i]
	if nd.running() {
		nd.proc.stop(10 * time.Second)
	}
	if err := c.spawn(nd); err != nil {
		return err
	}
	limit := c.opts.Timeout
	if err := c.waitListening(nd, limit); err != nil {
		return fmt.Errorf("%w\n%s", err, nd.proc.tail())
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	if err := c.unseal(ctx, nd, Standby, limit); err != nil {
		return fmt.Errorf("%w\n%s", err, nd.proc.tail())
	}
	running := 0
	for _, nd := range c.Nodes {
		if nd.running() {
			running++
		}
	}
	if running > len(c.Nodes)/2 {
		if _, err := c.WaitStable(limit); err != nil {
			return fmt.Errorf("%w\n%s", err, c.tails())
		}
	}
	return nil
}

// Close kills every node and removes all data. Safe to call twice.
func (c *Cluster) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, nd := range c.Nodes {
		if nd.running() {
			nd.proc.kill()
		}
	}
	if c.dir != "" && os.Getenv("VAULTTEST_KEEP") == "" {
		os.RemoveAll(c.dir)
		c.dir = ""
	}
}

// tails is every node's log tail, for a start-up error.
func (c *Cluster) tails() string {
	var b strings.Builder
	for _, nd := range c.Nodes {
		fmt.Fprintf(&b, "--- %s (%s):\n%s\n", nd.ID, nd.Addr, tailFile(nd.logPath(), 10))
	}
	return b.String()
}
