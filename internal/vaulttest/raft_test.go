package vaulttest

import (
	"context"
	"os"
	"testing"
	"time"
)

func kvPut(t *testing.T, c *Cluster, i int, key, val string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := call(ctx, "POST", c.Nodes[i].Addr, "secret/data/"+key, c.Token,
		map[string]any{"data": map[string]string{"v": val}}, nil)
	if err != nil {
		t.Fatalf("kv put on %s: %v", c.Nodes[i].ID, err)
	}
}

func kvGet(t *testing.T, c *Cluster, i int, key string) string {
	t.Helper()
	var out struct {
		Data struct {
			Data map[string]string `json:"data"`
		} `json:"data"`
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := call(ctx, "GET", c.Nodes[i].Addr, "secret/data/"+key, c.Token, nil, &out); err != nil {
		t.Fatalf("kv get on %s: %v", c.Nodes[i].ID, err)
	}
	return out.Data.Data["v"]
}

// TestRaftSingleNodeSurvivesKill: a write acknowledged by a single Raft node
// is still there after SIGKILL and a restart on the same data.
func TestRaftSingleNodeSurvivesKill(t *testing.T) {
	start := time.Now()
	c := StartRaft(t)
	t.Logf("single Raft node up in %s", time.Since(start).Round(time.Millisecond))
	if i, err := c.Leader(); err != nil || i != 0 {
		t.Fatalf("Leader() = %d, %v; want 0", i, err)
	}
	kvPut(t, c, 0, "k", "before-kill")
	c.Kill(0)
	if h := c.Health(0); h != Down {
		t.Fatalf("killed node is %s", h)
	}
	start = time.Now()
	if err := c.Restart(0); err != nil {
		t.Fatal(err)
	}
	if _, err := c.WaitLeader(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	t.Logf("single Raft node restarted and active in %s", time.Since(start).Round(time.Millisecond))
	if got := kvGet(t, c, 0, "k"); got != "before-kill" {
		t.Fatalf("after restart k = %q", got)
	}
}

// TestClusterFailover: three voters; killing the active node elects another
// one that has the data; the old leader comes back as a standby voter.
func TestClusterFailover(t *testing.T) {
	start := time.Now()
	c := StartCluster(t, 3)
	t.Logf("3-node Raft cluster up in %s", time.Since(start).Round(time.Millisecond))
	if got := len(c.Addrs()); got != 3 {
		t.Fatalf("Addrs() has %d entries", got)
	}
	old, err := c.WaitStable(30 * time.Second) // one active, two standbys that know it
	if err != nil {
		t.Fatal(err)
	}
	kvPut(t, c, (old+1)%3, "k", "v1") // a standby forwards to the active node

	start = time.Now()
	c.Kill(old)
	leader, err := c.WaitLeader(30 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("election after killing the leader: %s (%s -> %s)",
		time.Since(start).Round(time.Millisecond), c.Nodes[old].ID, c.Nodes[leader].ID)
	if leader == old {
		t.Fatalf("killed node %d still active", old)
	}
	if got := kvGet(t, c, leader, "k"); got != "v1" {
		t.Fatalf("new leader reads k = %q", got)
	}
	kvPut(t, c, leader, "k", "v2")

	start = time.Now()
	if err := c.Restart(old); err != nil {
		t.Fatal(err)
	}
	t.Logf("old leader restarted and unsealed in %s", time.Since(start).Round(time.Millisecond))
	if h := c.Health(old); h != Standby {
		t.Fatalf("restarted old leader is %s", h)
	}
	if leader, err = c.WaitStable(30 * time.Second); err != nil {
		t.Fatal(err)
	}
	if v, err := c.voters(context.Background(), c.Nodes[leader]); err != nil || v != 3 {
		t.Fatalf("voters = %d, %v", v, err)
	}
	if got := kvGet(t, c, old, "k"); got != "v2" {
		t.Fatalf("restarted node reads k = %q", got)
	}

	c.Stop(leader) // graceful: step-down
	next, err := c.WaitLeader(30 * time.Second)
	if err != nil || next == leader {
		t.Fatalf("after Stop(%d): leader %d, %v", leader, next, err)
	}
}

// TestClusterCloseLeavesNothing: Close kills every process and removes the
// data; a second Close is harmless.
func TestClusterCloseLeavesNothing(t *testing.T) {
	c, err := NewCluster(1, ClusterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := c.dir
	c.Close()
	c.Close()
	for _, nd := range c.Nodes {
		if nd.running() {
			t.Fatalf("%s still running after Close", nd.ID)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("data dir %s still there: %v", dir, err)
	}
}
