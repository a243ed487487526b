// Package vaulttest starts real HashiCorp Vault servers on loopback for
// cardproxy's tests. It never fakes Vault: without a vault binary, tests fail
// with a message saying how to get one (scripts/vault.sh build).
//
// Two kinds of server:
//
//   - Start / StartT: a dev server (in memory, unsealed, KV v2 at secret/),
//     quick to start; its data dies with it.
//   - StartRaft / StartCluster / NewCluster: Vault with integrated (Raft)
//     storage, one node or n, each node with its own directory (vault.hcl,
//     raft/ data, vault.log) and its own free loopback ports (API with
//     tls_disable, cluster port for Raft). Node 0 is initialised through
//     sys/init with one key share (Cluster.UnsealKey) and unsealed; the others
//     join it through sys/storage/raft/join, all at once, and are unsealed.
//     (An explicit join either fails with Vault's error or has joined;
//     retry_join in the config would retry silently in the background.)
//     Start-up returns when every node is unsealed and the Raft configuration
//     lists n voters. KV v2 is mounted at secret/ as on a dev server. Kill
//     (SIGKILL), Stop (SIGTERM), Restart (same data and ports, unsealed
//     again), Leader / WaitLeader (the node whose sys/health answers 200) and
//     WaitStable (every running node knows the leader) drive failure tests.
//
// Timing. Raft runs with performance_multiplier 1 (Vault's default is 5):
// heartbeat and election timeouts of 1s, leader lease 0.5s, so a new leader
// is active about 1.5-3s after the old one is killed. Autopilot promotes a
// joined node to voter once it has sent its first echo heartbeat (every 5s,
// fixed) and been stable for server_stabilization_time, set to 1s here
// (default 10s), with autopilot_reconcile_interval 1s (default 10s). A
// 3-node cluster is up in about 6-8s on 2 busy cores, a single node in
// about 1.5s; with the machine's load average at 15 a start-up took up to
// 48s, hence the 2-minute default limit. On a very loaded machine a leader
// can miss its 0.5s lease and step down (a second election, a few seconds
// more): tests should wait with WaitLeader / WaitStable rather than assume a
// node stays active; ClusterOptions.PerformanceMultiplier trades speed for
// tolerance.
//
// Every process runs in its own process group with Pdeathsig SIGKILL, and
// the test helpers kill all of them in t.Cleanup, on failure too (a failed
// test also logs each node's log tail). VAULTTEST_KEEP=1 keeps the Raft
// clusters' directories (configs, data, full logs) for a post-mortem.
package vaulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// VaultVersion is the version scripts/vault.sh builds by default.
const VaultVersion = "v1.21.0"

// Binary finds a vault binary the same way scripts/vault.sh does:
// $CARDPROXY_VAULT_BIN, `vault` on PATH, then the cached build.
func Binary() (string, error) {
	if p := os.Getenv("CARDPROXY_VAULT_BIN"); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("CARDPROXY_VAULT_BIN=%s is not a file", p)
		}
		return p, nil
	}
	if p, err := exec.LookPath("vault"); err == nil {
		return p, nil
	}
	cache := os.Getenv("CARDPROXY_CACHE")
	if cache == "" {
		base := os.Getenv("XDG_CACHE_HOME")
		if base == "" {
			home, _ := os.UserHomeDir()
			base = filepath.Join(home, ".cache")
		}
		cache = filepath.Join(base, "cardproxy")
	}
	p := filepath.Join(cache, "vault-"+VaultVersion+"-minimal", "vault")
	if _, err := os.Stat(p); err == nil {
		// scripts/vault.sh rebuilds it when tools/vaultbin changes; a test run
		// without scripts/test.sh must not use the old build silently.
		if want, err := Stamp(); err == nil {
			if got, _ := os.ReadFile(p + ".stamp"); strings.TrimSpace(string(got)) != want {
				return "", fmt.Errorf("the cached %s was built from another tools/vaultbin (stamp %q, now %q): run scripts/vault.sh build", p, strings.TrimSpace(string(got)), want)
			}
		}
		return p, nil
	}
	return "", errors.New("no vault binary: run scripts/vault.sh build (or scripts/test.sh, which does), or set CARDPROXY_VAULT_BIN")
}

// Server is a running Vault dev server: in memory, unsealed, KV v2 at secret/.
type Server struct {
	Addr  string // http://127.0.0.1:port
	Token string // root token
	proc  *proc
	once  sync.Once
}

// Start launches a dev server on a free loopback port and waits until it is
// ready.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 12)
	_, _ = rand.Read(tok)
	s := &Server{
		Addr:  fmt.Sprintf("http://127.0.0.1:%d", port),
		Token: "root-" + hex.EncodeToString(tok),
	}
	logf, err := os.CreateTemp("", "cardproxy-vault-*.log")
	if err != nil {
		return nil, err
	}
	logf.Close()
	s.proc, err = spawn(bin, logf.Name(), os.TempDir(), "server", "-dev",
		"-dev-root-token-id="+s.Token,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port),
		"-dev-no-store-token",
	)
	if err != nil {
		os.Remove(logf.Name())
		return nil, err
	}
	if err := s.waitReady(60 * time.Second); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

// StartT starts a server for one test and stops it when the test ends.
// A missing vault binary fails the test; it never skips.
func StartT(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatalf("vaulttest: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// Main is a whole TestMain for a package whose tests share one dev server:
// it starts the server into *srv, runs the tests, stops the server and
// exits with the tests' code (1, saying why, when Vault cannot start).
func Main(m *testing.M, srv **Server) {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "these tests need a real Vault:", err)
		os.Exit(1)
	}
	*srv = s
	code := m.Run()
	s.Stop()
	os.Exit(code)
}

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		if s.proc.exited() {
			return fmt.Errorf("vault exited during start-up: %s", s.proc.tail())
		}
		resp, err := client.Get(s.Addr + "/v1/sys/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("vault not ready after %s: %s", limit, s.proc.tail())
}

// Stop terminates the server (its data is gone: dev mode is in memory).
func (s *Server) Stop() {
	s.once.Do(func() {
		s.proc.stop(10 * time.Second)
		os.Remove(s.proc.logPath)
	})
}

// Pid is the server's process id (for its memory figures: /proc/<pid>/status).
func (s *Server) Pid() int { return s.proc.cmd.Process.Pid }

// Ready reports whether the server still answers.
func (s *Server) Ready(ctx context.Context) bool {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Addr+"/v1/sys/health", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
