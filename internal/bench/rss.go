package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/cardproxy/cardproxy/internal/procstat"
	"github.com/cardproxy/cardproxy/internal/testcaddy"
	"github.com/cardproxy/cardproxy/internal/vaulttest"
)

// Peak memory of cardproxy under concurrent large uploads (issue 10: 64
// concurrent 1 MiB uploads, ≤ 100 MiB on card-free traffic, ≤ 200 MiB on a
// card route). cardproxy runs as its own process (the cardproxy binary), so
// its peak RSS (VmHWM) is its own: the load generator and the app are this
// process, Vault another.

// RSSOptions are the upload load.
type RSSOptions struct {
	Bin       string // the cardproxy binary
	Clients   int    // concurrent uploads (default 64)
	Size      int    // body bytes (default 1 MiB minus a little: max_body is 1 MiB)
	PerClient int    // uploads per client (default 4)
}

// RSSResult is one scenario's memory.
type RSSResult struct {
	Scenario          string
	StartKiB, PeakKiB int64
	Uploads, Errors   int
	Elapsed           time.Duration
}

// RSSScenarios: plain reverse_proxy, card_tokenize with a card-free body,
// card_tokenize with a card in the body.
var RSSScenarios = []string{"plain", "card-free", "card"}

// MeasureRSS runs each scenario against a fresh cardproxy process and
// reports its RSS at start (after one request) and its peak.
func MeasureRSS(o RSSOptions) ([]RSSResult, error) {
	if o.Clients <= 0 {
		o.Clients = 64
	}
	if o.Size <= 0 {
		o.Size = 1<<20 - 1024
	}
	if o.PerClient <= 0 {
		o.PerClient = 4
	}
	v, err := vaulttest.Start()
	if err != nil {
		return nil, err
	}
	defer v.Stop()
	if err := setupVault(v.Addr, v.Token); err != nil {
		return nil, err
	}
	// The app reads every body and answers "ok".
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	app := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	})}
	go func() { _ = app.Serve(ln) }()
	defer app.Close()
	var out []RSSResult
	for _, sc := range RSSScenarios {
		res, err := rssScenario(o, sc, v, ln.Addr().String())
		if err != nil {
			return out, fmt.Errorf("%s: %w", sc, err)
		}
		out = append(out, res)
	}
	return out, nil
}

func rssScenario(o RSSOptions, scenario string, v *vaulttest.Server, app string) (RSSResult, error) {
	res := RSSResult{Scenario: scenario}
	dir, err := os.MkdirTemp("", "cardbench-rss-*")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	port, err := vaulttest.FreePort()
	if err != nil {
		return res, err
	}
	handler := "reverse_proxy " + app
	if scenario != "plain" {
		handler = "card_tokenize {\n\t\tpan card_number\n\t}\n\t" + handler
	}
	cfg := testcaddy.Global(v.Addr, "{env.CARDBENCH_VAULT_TOKEN}") + fmt.Sprintf("http://127.0.0.1:%d {\n\t%s\n}\n", port, handler)
	conf := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		return res, err
	}
	cmd := exec.Command(o.Bin, "run", "--config", conf, "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "CARDBENCH_VAULT_TOKEN="+v.Token, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	logf, err := os.Create(filepath.Join(dir, "cardproxy.log"))
	if err != nil {
		return res, err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	url := fmt.Sprintf("http://127.0.0.1:%d/checkout", port)
	body := rssBody(scenario, o.Size)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: o.Clients}}
	post := func() error {
		resp, err := client.Post(url, "application/json", bytes.NewReader(body))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		if resp.StatusCode != 200 {
			return fmt.Errorf("status %d", resp.StatusCode)
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for post() != nil { // up, and warmed: one request through
		if ctx.Err() != nil {
			b, _ := os.ReadFile(filepath.Join(dir, "cardproxy.log"))
			return res, fmt.Errorf("cardproxy did not answer: %s", tail(string(b)))
		}
		time.Sleep(100 * time.Millisecond)
	}
	pid := strconv.Itoa(cmd.Process.Pid)
	res.StartKiB = procstat.KiB(pid, "VmRSS")
	start := time.Now()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for range o.Clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range o.PerClient {
				err := post()
				mu.Lock()
				res.Uploads++
				if err != nil {
					res.Errors++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.PeakKiB = procstat.KiB(pid, "VmHWM")
	return res, nil
}

// rssBody is a JSON order of about size bytes: a note of letters (no digit,
// so nothing in it looks like card data) and, for "card", a card number.
func rssBody(scenario string, size int) []byte {
	prefix := `{"amount":1000,`
	if scenario == "card" {
		prefix += `"card_number":"` + testPAN + `",`
	}
	prefix += `"note":"`
	n := max(size-len(prefix)-2, 0)
	return append(append([]byte(prefix), bytes.Repeat([]byte("abcdefghij"), n/10+1)[:n]...), '"', '}')
}

func tail(s string) string {
	if len(s) > 2000 {
		return s[len(s)-2000:]
	}
	return s
}

// PrintRSS writes the results as a table.
func PrintRSS(w io.Writer, o RSSOptions, rs []RSSResult) {
	fmt.Fprintf(w, "%d concurrent uploads of %d bytes, %d each; cardproxy's own process (VmRSS at start, VmHWM peak)\n", o.Clients, o.Size, o.PerClient)
	fmt.Fprintf(w, "%-10s %10s %10s %8s %7s %9s\n", "scenario", "start MiB", "peak MiB", "uploads", "errors", "seconds")
	for _, r := range rs {
		fmt.Fprintf(w, "%-10s %10.1f %10.1f %8d %7d %9.1f\n", r.Scenario, float64(r.StartKiB)/1024, float64(r.PeakKiB)/1024, r.Uploads, r.Errors, r.Elapsed.Seconds())
	}
}
