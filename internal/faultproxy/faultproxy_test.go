package faultproxy

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/internal/vaulttest"
	"github.com/hashicorp/vault/api"
)

var srv *vaulttest.Server

func TestMain(m *testing.M) { vaulttest.Main(m, &srv) }

// do sends one request through client to base+"/v1/"+path; body "" means
// none. It returns the status (0 on a transport error) and the body.
func do(t *testing.T, client *http.Client, base, method, path, body string) (int, string, error) {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+"/v1/"+path, r)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Vault-Token", srv.Token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), nil
}

// direct asks Vault itself, bypassing the proxy.
func direct(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	st, b, err := do(t, http.DefaultClient, srv.Addr, method, path, body)
	if err != nil {
		t.Fatal(err)
	}
	return st, b
}

func newClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{}}
}

func TestRequests(t *testing.T) {
	direct(t, "POST", "secret/data/fp-read", `{"data":{"v":"r"}}`)
	cases := []struct {
		name         string
		arm          func(p *Proxy)
		method, path string
		body         string
		wantErr      bool   // the client sees no reply
		check        string // path read directly afterwards; must hold wantValue
		wantValue    string // "" with check: must be absent (404)
		want         Stats
	}{
		{name: "write passes", method: "POST", path: "secret/data/fp-a", body: `{"data":{"v":"a"}}`,
			check: "secret/data/fp-a", wantValue: `"v":"a"`,
			want: Stats{Conns: 1, Requests: 1, Writes: 1}},
		{name: "read passes", method: "GET", path: "secret/data/fp-read",
			want: Stats{Conns: 1, Requests: 1}},
		{name: "dropped write is stored", arm: func(p *Proxy) { p.DropWriteReplies(1, "") },
			method: "POST", path: "secret/data/fp-b", body: `{"data":{"v":"b"}}`, wantErr: true,
			check: "secret/data/fp-b", wantValue: `"v":"b"`,
			want: Stats{Conns: 1, Requests: 1, Writes: 1, Dropped: 1, Resets: 1}},
		{name: "PUT reply dropped too", arm: func(p *Proxy) { p.DropWriteReplies(1, "") },
			method: "PUT", path: "secret/data/fp-put", body: `{"data":{"v":"put"}}`, wantErr: true,
			check: "secret/data/fp-put", wantValue: `"v":"put"`,
			want: Stats{Conns: 1, Requests: 1, Writes: 1, Dropped: 1, Resets: 1}},
		{name: "dropped DELETE is done", arm: func(p *Proxy) {
			direct(t, "POST", "secret/data/fp-del", `{"data":{"v":"d"}}`)
			p.DropWriteReplies(1, "")
		}, method: "DELETE", path: "secret/metadata/fp-del", wantErr: true, check: "secret/data/fp-del",
			want: Stats{Conns: 1, Requests: 1, Writes: 1, Dropped: 1, Resets: 1}},
		{name: "reads are never dropped", arm: func(p *Proxy) { p.DropWriteReplies(1, "") },
			method: "GET", path: "secret/data/fp-read",
			want: Stats{Conns: 1, Requests: 1}},
		{name: "path filter spares other writes", arm: func(p *Proxy) { p.DropWriteReplies(1, "fp-only") },
			method: "POST", path: "secret/data/fp-other", body: `{"data":{"v":"o"}}`,
			check: "secret/data/fp-other", wantValue: `"v":"o"`,
			want: Stats{Conns: 1, Requests: 1, Writes: 1}},
		{name: "path filter hits its writes", arm: func(p *Proxy) { p.DropWriteReplies(1, "fp-only") },
			method: "POST", path: "secret/data/fp-only-c", body: `{"data":{"v":"c"}}`, wantErr: true,
			check: "secret/data/fp-only-c", wantValue: `"v":"c"`,
			want: Stats{Conns: 1, Requests: 1, Writes: 1, Dropped: 1, Resets: 1}},
		{name: "PassThrough disarms", arm: func(p *Proxy) { p.DropWriteReplies(5, ""); p.PassThrough() },
			method: "POST", path: "secret/data/fp-e", body: `{"data":{"v":"e"}}`,
			check: "secret/data/fp-e", wantValue: `"v":"e"`,
			want: Stats{Conns: 1, Requests: 1, Writes: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Start(t, srv.Addr)
			if tc.arm != nil {
				tc.arm(p)
			}
			st, body, err := do(t, newClient(), p.URL(), tc.method, tc.path, tc.body)
			switch {
			case tc.wantErr && err == nil:
				t.Fatalf("got a reply (%d %s), want none", st, body)
			case !tc.wantErr && (err != nil || st/100 != 2):
				t.Fatalf("got %d %s %v, want a 2xx reply", st, body, err)
			}
			if tc.check != "" {
				st, body := direct(t, "GET", tc.check, "")
				if tc.wantValue == "" && st != http.StatusNotFound {
					t.Fatalf("%s: %d %s, want 404", tc.check, st, body)
				}
				if tc.wantValue != "" && !strings.Contains(body, tc.wantValue) {
					t.Fatalf("%s: %d %s, want %s", tc.check, st, body, tc.wantValue)
				}
			}
			if got := p.Stats(); got != tc.want {
				t.Fatalf("stats %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestDropCountsDown: n armed drops hit exactly the next n writes, on
// one keep-alive connection after another (each drop resets it).
func TestDropCountsDown(t *testing.T) {
	p := Start(t, srv.Addr)
	p.DropWriteReplies(2, "")
	client := newClient()
	var errs int
	for i := range 4 {
		if _, _, err := do(t, client, p.URL(), "POST", fmt.Sprintf("secret/data/fp-n%d", i), `{"data":{"v":"n"}}`); err != nil {
			errs++
		}
	}
	if got := p.Stats(); errs != 2 || got.Dropped != 2 || got.Writes != 4 || got.Conns != 3 {
		t.Fatalf("errors %d, stats %+v; want 2 errors, 2 dropped of 4 writes on 3 connections", errs, got)
	}
}

func TestKeepAlive(t *testing.T) {
	p := Start(t, srv.Addr)
	client := newClient()
	for range 3 {
		if st, b, err := do(t, client, p.URL(), "GET", "sys/health", ""); err != nil || st != 200 {
			t.Fatalf("%d %s %v", st, b, err)
		}
	}
	if got := p.Stats(); got.Conns != 1 || got.Requests != 3 {
		t.Fatalf("stats %+v, want 3 requests on 1 connection", got)
	}
}

func TestResetAll(t *testing.T) {
	p := Start(t, srv.Addr)
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "GET /v1/sys/health HTTP/1.1\r\nHost: vault\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	p.ResetAll()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Read(make([]byte, 1)); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read after ResetAll: %v, want connection reset", err)
	}
	if got := p.Stats(); got.Resets != 1 {
		t.Fatalf("stats %+v, want 1 reset", got)
	}
}

func TestDownRefusesThenRecovers(t *testing.T) {
	p := Start(t, srv.Addr)
	if err := p.SetDown(true); err != nil {
		t.Fatal(err)
	}
	if _, err := net.Dial("tcp", p.Addr()); !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial while down: %v, want connection refused", err)
	}
	if err := p.SetDown(false); err != nil {
		t.Fatal(err)
	}
	if st, b, err := do(t, newClient(), p.URL(), "GET", "sys/health", ""); err != nil || st != 200 {
		t.Fatalf("after up: %d %s %v", st, b, err)
	}
}

func TestLatency(t *testing.T) {
	p := Start(t, srv.Addr)
	p.SetLatency(300 * time.Millisecond)
	start := time.Now()
	if st, _, err := do(t, newClient(), p.URL(), "GET", "sys/health", ""); err != nil || st != 200 {
		t.Fatalf("%d %v", st, err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Fatalf("request took %s, want at least 300ms", d)
	}
}

func TestSetTarget(t *testing.T) {
	p := Start(t, srv.Addr)
	dead, _ := net.Listen("tcp", "127.0.0.1:0")
	deadAddr := dead.Addr().String()
	dead.Close()
	p.SetTarget("http://" + deadAddr)
	if _, _, err := do(t, newClient(), p.URL(), "GET", "sys/health", ""); err == nil {
		t.Fatal("request to a dead target got a reply")
	}
	p.SetTarget(srv.Addr)
	if st, _, err := do(t, newClient(), p.URL(), "GET", "sys/health", ""); err != nil || st != 200 {
		t.Fatalf("back on Vault: %d %v", st, err)
	}
}

// TestVaultClientRetriesLostWrite records what cardproxy's Vault client
// (hashicorp/vault/api, default config) does when a write's reply is lost:
// go-retryablehttp sends the same write again, so Vault sees it twice and
// the caller sees success.
func TestVaultClientRetriesLostWrite(t *testing.T) {
	p := Start(t, srv.Addr)
	cfg := api.DefaultConfig()
	cfg.Address = p.URL()
	client, err := api.NewClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	client.SetToken(srv.Token)
	p.DropWriteReplies(1, "fp-retry")
	_, err = client.Logical().Write("secret/data/fp-retry", map[string]any{"data": map[string]any{"v": "x"}})
	st := p.Stats()
	t.Logf("vault/api write with its reply dropped: err=%v, stats %+v", err, st)
	if err != nil || st.Writes != 2 || st.Dropped != 1 {
		t.Fatalf("err %v, stats %+v; want a retried write (2 writes, 1 dropped) and success", err, st)
	}
	if _, body := direct(t, "GET", "secret/metadata/fp-retry", ""); !strings.Contains(body, `"current_version":2`) {
		t.Fatalf("metadata %s, want version 2 (written twice)", body)
	}
}
