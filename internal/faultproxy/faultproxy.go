// Package faultproxy is a small HTTP/1.1-aware TCP proxy for injecting
// faults between cardproxy and Vault in tests.
//
// New(target) listens on 127.0.0.1:0 and forwards every connection to
// target (host:port or an http:// URL), one request at a time per
// connection: it reads a request from the client (net/http ReadRequest),
// writes it to its own upstream connection, reads Vault's reply
// (ReadResponse) and writes it back. Keep-alive works as usual; each client
// connection has its own upstream connection.
//
// Switches, all safe to flip at runtime from any goroutine:
//
//   - PassThrough: clear every fault below.
//   - DropWriteReplies(n, pathContains): the next n write requests (PUT,
//     POST, DELETE, PATCH) whose URL path contains pathContains ("" matches
//     all) are forwarded to Vault, which commits them; the proxy reads the
//     reply in full and then resets the client connection (TCP RST) instead
//     of answering. The client cannot tell whether its write happened: the
//     "lost reply" fault.
//   - ResetAll: reset every open connection now (client side RST, upstream
//     closed).
//   - SetDown(true): close the listener so new connections are refused
//     (ECONNREFUSED); open ones are left alone (add ResetAll for a full
//     outage). SetDown(false) listens again on the same address.
//   - SetLatency(d): wait d before forwarding each request.
//   - SetTarget(target): send new connections elsewhere (another node).
//
// Stats counts what the proxy did. Every fault acts on whole requests, so a
// test knows exactly which request was hit.
//
// Note for tests of a Vault client: hashicorp/vault/api's default client
// (go-retryablehttp, 2 retries) sends a write again after a connection
// reset, so one dropped reply reaches Vault as two writes and the caller sees
// success (TestVaultClientRetriesLostWrite). Not handled: Expect:
// 100-continue (the client waits out its timeout, then sends the body), and
// an upstream connection Vault closed while idle (the next request on it
// fails and the client is reset; Vault's idle timeout is 5 minutes).
package faultproxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Stats is what the proxy has done so far.
type Stats struct {
	Conns    int // client connections accepted
	Requests int // requests read from clients
	Writes   int // of which PUT/POST/DELETE/PATCH
	Dropped  int // write replies dropped (the write was forwarded)
	Resets   int // client connections reset (dropped replies and ResetAll)
}

// Proxy is one listening proxy. The zero value is not usable: call New.
type Proxy struct {
	addr string // 127.0.0.1:port, fixed for the proxy's life

	mu       sync.Mutex
	ln       net.Listener // nil while down or closed
	target   string
	conns    map[net.Conn]bool // open connections: true for a client one
	dropN    int
	dropPath string
	latency  time.Duration
	stats    Stats
	closed   bool
	wg       sync.WaitGroup
}

// New starts a proxy to target ("127.0.0.1:8200" or "http://127.0.0.1:8200")
// on a free loopback port.
func New(target string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{addr: ln.Addr().String(), conns: map[net.Conn]bool{}}
	p.SetTarget(target)
	p.serveListener(ln)
	return p, nil
}

// Start is New for one test: a failure fails the test, and the proxy is
// closed when the test ends.
func Start(t testing.TB, target string) *Proxy {
	t.Helper()
	p, err := New(target)
	if err != nil {
		t.Fatalf("faultproxy: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// Addr is the proxy's host:port; URL is the same as http://host:port.
func (p *Proxy) Addr() string { return p.addr }
func (p *Proxy) URL() string  { return "http://" + p.addr }

// SetTarget changes where new connections go; open ones stay where they are.
func (p *Proxy) SetTarget(target string) {
	target = strings.TrimPrefix(strings.TrimPrefix(target, "http://"), "https://")
	p.mu.Lock()
	p.target = strings.TrimSuffix(target, "/")
	p.mu.Unlock()
}

// PassThrough clears every fault: no drops, no latency, listening.
func (p *Proxy) PassThrough() {
	p.mu.Lock()
	p.dropN, p.dropPath, p.latency = 0, "", 0
	p.mu.Unlock()
	_ = p.SetDown(false)
}

// DropWriteReplies arms the lost-reply fault for the next n write requests
// whose path contains pathContains (every write when it is empty). n = 0
// disarms it.
func (p *Proxy) DropWriteReplies(n int, pathContains string) {
	p.mu.Lock()
	p.dropN, p.dropPath = n, pathContains
	p.mu.Unlock()
}

// SetLatency delays every request by d before it is forwarded (0: none).
func (p *Proxy) SetLatency(d time.Duration) {
	p.mu.Lock()
	p.latency = d
	p.mu.Unlock()
}

// ResetAll resets every open connection now.
func (p *Proxy) ResetAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		p.resetLocked(c)
	}
}

// SetDown(true) stops listening, so new connections are refused;
// SetDown(false) listens on the same address again.
func (p *Proxy) SetDown(down bool) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.closed:
		return errors.New("faultproxy: closed")
	case down && p.ln != nil:
		err := p.ln.Close()
		p.ln = nil
		return err
	case !down && p.ln == nil:
		ln, err := net.Listen("tcp", p.addr)
		if err != nil {
			return fmt.Errorf("faultproxy: listening again on %s: %w", p.addr, err)
		}
		p.serveListenerLocked(ln)
	}
	return nil
}

// Stats returns the counters so far.
func (p *Proxy) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stats
}

// Close stops listening, closes every connection and waits for the
// proxy's goroutines to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

func (p *Proxy) serveListener(ln net.Listener) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.serveListenerLocked(ln)
}

func (p *Proxy) serveListenerLocked(ln net.Listener) {
	p.ln = ln
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return // closed: down or Close
			}
			p.mu.Lock()
			if p.closed {
				p.mu.Unlock()
				c.Close()
				return
			}
			p.stats.Conns++
			p.conns[c] = true
			p.wg.Add(1)
			p.mu.Unlock()
			go p.serve(c)
		}
	}()
}

// resetLocked closes c with SO_LINGER 0, so the peer sees a TCP RST.
func (p *Proxy) resetLocked(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
	if client, ok := p.conns[c]; ok {
		delete(p.conns, c)
		if client {
			p.stats.Resets++
		}
	}
}

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPut, http.MethodPost, http.MethodDelete, http.MethodPatch:
		return true
	}
	return false
}

// serve proxies one client connection, one request at a time.
func (p *Proxy) serve(client net.Conn) {
	defer p.wg.Done()
	defer p.forget(client)
	var up net.Conn
	defer func() {
		if up != nil {
			p.forget(up)
		}
	}()
	cr := bufio.NewReader(client)
	var ur *bufio.Reader
	for {
		req, err := http.ReadRequest(cr)
		if err != nil {
			return // client gone, reset, or not HTTP
		}
		p.mu.Lock()
		p.stats.Requests++
		write := isWrite(req.Method)
		drop := false
		if write {
			p.stats.Writes++
			if p.dropN > 0 && strings.Contains(req.URL.Path, p.dropPath) {
				p.dropN--
				drop = true
			}
		}
		latency, target := p.latency, p.target
		p.mu.Unlock()
		if latency > 0 {
			time.Sleep(latency)
		}
		if up == nil {
			if up, err = p.dial(target); err != nil {
				p.reset(client)
				return
			}
			ur = bufio.NewReader(up)
		}
		if err := req.Write(up); err != nil {
			p.reset(client)
			return
		}
		resp, err := http.ReadResponse(ur, req)
		if err != nil {
			p.reset(client)
			return
		}
		if drop {
			_, _ = io.Copy(io.Discard, resp.Body) // Vault has answered: the write is done
			resp.Body.Close()
			p.mu.Lock()
			p.stats.Dropped++
			p.mu.Unlock()
			p.reset(client)
			return
		}
		err = resp.Write(client)
		resp.Body.Close()
		if err != nil || resp.Close || req.Close {
			return
		}
	}
}

func (p *Proxy) dial(target string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return nil, errors.New("faultproxy: closed")
	}
	p.conns[c] = false
	return c, nil
}

func (p *Proxy) reset(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.resetLocked(c)
}
