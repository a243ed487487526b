package vaulttest

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Addrs returns every node's API address, in node order.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, nd := range c.Nodes {
		out[i] = nd.Addr
	}
	return out
}

// Health returns node i's state by sys/health (Down when it does not answer).
func (c *Cluster) Health(i int) Health { return health(context.Background(), c.Nodes[i].Addr) }

// Leader returns the index of the active node: the one whose sys/health
// answers 200. Every node is asked at once; none active is an error.
func (c *Cluster) Leader() (int, error) {
	states := make([]Health, len(c.Nodes))
	var wg sync.WaitGroup
	for i := range c.Nodes {
		wg.Add(1)
		go func() { defer wg.Done(); states[i] = c.Health(i) }()
	}
	wg.Wait()
	for i, h := range states {
		if h == Active {
			return i, nil
		}
	}
	return -1, fmt.Errorf("vaulttest: no active node (states %v)", states)
}

// WaitLeader polls Leader until some node is active or limit passes.
func (c *Cluster) WaitLeader(limit time.Duration) (int, error) {
	leader := -1
	err := poll(limit, "an active node", func() (bool, error) {
		i, err := c.Leader()
		leader = i
		return err == nil, nil
	})
	return leader, err
}

// WaitStable waits until one node is active and every running node is
// unsealed and names that node as its leader (sys/leader), so that a request
// to any running node is served or forwarded. After an election a standby
// can take a moment to learn the new leader; until then it answers 500
// "active cluster node not found".
func (c *Cluster) WaitStable(limit time.Duration) (int, error) {
	leader := -1
	err := poll(limit, "a stable cluster", func() (bool, error) {
		i, err := c.Leader()
		if err != nil {
			return false, nil
		}
		leader = i
		for _, nd := range c.Nodes {
			if !nd.running() || nd == c.Nodes[i] {
				continue
			}
			var l struct {
				Leader string `json:"leader_address"`
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			err := call(ctx, "GET", nd.Addr, "sys/leader", "", nil, &l)
			cancel()
			if err != nil ||
				l.Leader != c.Nodes[i].Addr {
				return false, nil
			}
		}
		return true, nil
	})
	return leader, err
}

// voters counts the voters in the Raft configuration as nd reports it.
func (c *Cluster) voters(ctx context.Context, nd *Node) (int, error) {
	var cfg struct {
		Data struct {
			Config struct {
				Servers []struct {
					Voter bool `json:"voter"`
				} `json:"servers"`
			} `json:"config"`
		} `json:"data"`
	}
	if err := call(ctx, "GET", nd.Addr, "sys/storage/raft/configuration", c.Token, nil, &cfg); err != nil {
		return 0, err
	}
	v := 0
	for _, s := range cfg.Data.Config.Servers {
		if s.Voter {
			v++
		}
	}
	return v, nil
}
