package sdktest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cardproxy/cardproxy/card"
	"github.com/cardproxy/cardproxy/internal/testcaddy"
	"github.com/cardproxy/cardproxy/token"

	_ "github.com/caddyserver/caddy/v2/modules/standard" // tls internal, file_system storage, as cmd/cardproxy has them
	_ "github.com/cardproxy/cardproxy/caddymodule"       // cardproxy's Caddy modules
)

const installHint = "run scripts/parsers.sh (it installs nodejs and npm and runs `npm ci` in sdktest/ from the committed package-lock.json)"

// needSDKs fails (never skips) unless node and every SDK, at the version
// package.json pins, are installed.
func needSDKs(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatalf("node is missing: %s", installHint)
	}
	var pkg struct{ Dependencies map[string]string }
	b, err := os.ReadFile("package.json")
	if err == nil {
		err = json.Unmarshal(b, &pkg)
	}
	if err != nil || len(pkg.Dependencies) == 0 {
		t.Fatalf("sdktest/package.json: %v", err)
	}
	for name, want := range pkg.Dependencies {
		var got struct{ Version string }
		b, err := os.ReadFile(filepath.Join("node_modules", name, "package.json"))
		if err == nil {
			err = json.Unmarshal(b, &got)
		}
		if err != nil || got.Version != want {
			t.Fatalf("SDK %s %s is not installed (found %q, %v): %s", name, want, got.Version, err, installHint)
		}
	}
}

// result is what a script printed: what the SDK parsed, or the HTTP error
// it raised. raw is everything the script wrote (stdout and stderr): the app
// side, which must never hold card data.
type result struct {
	OK     bool           `json:"ok"`
	Parsed map[string]any `json:"parsed"`
	Status int            `json:"status"`
	Error  map[string]any `json:"error"`
	raw    []byte
}

// runSDK runs one SDK script with in as its input, in a clean environment
// (no proxy variables, no SDK settings from the outside) plus env.
func runSDK(t *testing.T, script string, in map[string]any, env ...string) result {
	t.Helper()
	needSDKs(t)
	arg, _ := json.Marshal(in)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", script, string(arg))
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "NO_PROXY=*", "no_proxy=*"}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var r result
	lines := bytes.Split(bytes.TrimSpace(stdout.Bytes()), []byte("\n"))
	if err != nil || json.Unmarshal(lines[len(lines)-1], &r) != nil {
		t.Fatalf("node %s: %v\nstdout: %s\nstderr: %s", script, err, stdout.Bytes(), stderr.Bytes())
	}
	r.raw = append(stdout.Bytes(), stderr.Bytes()...)
	return r
}

// appClean fails if the app side of r holds the card number or the CVC.
func appClean(t *testing.T, r result, pan, cvc string) {
	t.Helper()
	for _, leak := range appLeaks(r.raw, pan, cvc) {
		t.Errorf("the app side saw %s: %s", leak, r.raw)
	}
}

// appLeaks names the card data in what a script wrote: the card number in
// any grouping (its digits in order), the CVC as a JSON value.
func appLeaks(raw []byte, pan, cvc string) []string {
	var leaks []string
	digits := strings.Map(func(c rune) rune {
		if c >= '0' && c <= '9' {
			return c
		}
		return -1
	}, string(raw))
	if strings.Contains(digits, pan) {
		leaks = append(leaks, "the card number")
	}
	for _, v := range []string{`"` + cvc + `"`, ":" + cvc + ",", ":" + cvc + "}"} {
		if bytes.Contains(raw, []byte(v)) {
			leaks = append(leaks, "the CVC")
			break
		}
	}
	return leaks
}

// tokens issues the app's tokens as the ingress would: a PAN token (with
// expiry and holder) and a single-use CVC token.
func tokens(t *testing.T, tenant, pan, expiry, holder, cvc string) (panTok, cvcTok string) {
	t.Helper()
	s := store(t)
	toks, err := s.Tokenize(t.Context(), tenant, token.FormatOpaque, []card.Card{{PAN: pan, Expiry: expiry, Holder: holder}})
	if err != nil {
		t.Fatal(err)
	}
	cvcTok, _, err = s.TokenizeCVC(t.Context(), tenant, cvc)
	if err != nil {
		t.Fatal(err)
	}
	return toks[0].Token, cvcTok
}

// global is the global options block: no admin API, cardproxy on the
// package's Vault with its own tenant; extra replaces `auto_https off`.
func global(t *testing.T, tenant, extra string) string {
	t.Setenv("SDKTEST_VAULT_TOKEN", srv.Token)
	g := testcaddy.Global(srv.Addr, "{env.SDKTEST_VAULT_TOKEN}", "tenant "+tenant)
	if extra != "" {
		g = strings.Replace(g, "\tauto_https off\n", extra, 1)
	}
	return g
}

// egressSite is a loopback-only egress at addr: plain HTTP, or HTTPS with a
// certificate from Caddy's internal CA.
func egressSite(addr string, https bool, upstream string, opts ...string) string {
	scheme, tlsLine := "http", ""
	if https {
		scheme, tlsLine = "https", "\ttls internal\n"
	}
	return fmt.Sprintf("%s://%s {\n\tbind 127.0.0.1\n%s\tcard_detokenize %s {\n\t\t%s\n\t}\n}\n",
		scheme, addr, tlsLine, upstream, strings.Join(opts, "\n\t\t"))
}

// jsonPath reads a dotted path of a JSON body ("" when absent), keeping
// numbers as written.
func jsonPath(t *testing.T, body []byte, path string) any {
	t.Helper()
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	for _, k := range strings.Split(path, ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	return v
}

// refused checks that r is cardproxy's unknown_token refusal, as the SDK
// handed it to the app.
func refused(t *testing.T, r result) {
	t.Helper()
	if r.OK || r.Status != http.StatusBadRequest || r.Error["error"] != "unknown_token" {
		t.Errorf("a second payment with the same CVC token was not refused with unknown_token: %s", r.raw)
	}
}
