// Package vaulttest starts real HashiCorp Vault dev servers on loopback for
// cardproxy's tests. It never fakes Vault: without a vault binary, tests fail
// with a message saying how to get one (scripts/vault.sh build).
package vaulttest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
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
	version := os.Getenv("CARDPROXY_VAULT_VERSION")
	if version == "" {
		version = VaultVersion
	}
	p := filepath.Join(cache, "vault-"+version, "vault")
	if _, err := os.Stat(p); err == nil {
		return p, nil
	}
	return "", errors.New("no vault binary: run scripts/vault.sh build (or scripts/test.sh, which does), or set CARDPROXY_VAULT_BIN")
}

// Server is a running Vault dev server: in memory, unsealed, KV v2 at secret/.
type Server struct {
	Addr  string // http://127.0.0.1:port
	Token string // root token
	cmd   *exec.Cmd
	done  chan struct{}
	log   *os.File
	once  sync.Once
}

// Start launches a dev server on a free loopback port and waits until it is
// ready.
func Start() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	tok := make([]byte, 12)
	_, _ = rand.Read(tok)
	s := &Server{
		Addr:  fmt.Sprintf("http://127.0.0.1:%d", port),
		Token: "root-" + hex.EncodeToString(tok),
		done:  make(chan struct{}),
	}
	logf, err := os.CreateTemp("", "cardproxy-vault-*.log")
	if err != nil {
		return nil, err
	}
	s.log = logf
	s.cmd = exec.Command(bin, "server", "-dev",
		"-dev-root-token-id="+s.Token,
		fmt.Sprintf("-dev-listen-address=127.0.0.1:%d", port),
		"-dev-no-store-token",
	)
	s.cmd.Env = append(os.Environ(), "VAULT_DISABLE_MLOCK=true", "HOME="+os.TempDir())
	s.cmd.Stdout = logf
	s.cmd.Stderr = logf
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting vault: %w", err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
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

func (s *Server) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: time.Second}
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("vault exited during start-up: %s", s.tail())
		default:
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
	return fmt.Errorf("vault not ready after %s: %s", limit, s.tail())
}

func (s *Server) tail() string {
	b, _ := os.ReadFile(s.log.Name())
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 10 {
		lines = lines[len(lines)-10:]
	}
	return strings.Join(lines, "\n")
}

// Stop terminates the server (its data is gone: dev mode is in memory).
func (s *Server) Stop() {
	s.once.Do(func() {
		if s.cmd.Process != nil {
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
				_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
				<-s.done
			}
		}
		s.log.Close()
		os.Remove(s.log.Name())
	})
}

// Pid is the server's process id (for its memory figures: /proc/<pid>/status).
func (s *Server) Pid() int { return s.cmd.Process.Pid }

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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
