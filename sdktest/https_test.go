package sdktest

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// httpsGlobal is the global part of an HTTPS egress: certificates on but
// no HTTP→HTTPS redirect server (`auto_https off` would also stop the
// certificates of `tls internal`), Caddy's root not installed into the
// system's trust store, and Caddy's storage — where the internal CA keeps
// its root — in a temporary directory. (Not XDG_DATA_HOME: Caddy reads it
// once, when its package initializes, before any test runs.) It returns the
// options and the root certificate's path, for NODE_EXTRA_CA_CERTS.
func httpsGlobal(t *testing.T) (extra, rootCert string) {
	dir := t.TempDir()
	return "\tauto_https disable_redirects\n\tskip_install_trust\n\tstorage file_system " + dir + "\n",
		filepath.Join(dir, "pki", "authorities", "local", "root.crt")
}

// exampleHTTPSEgress is Caddyfile.example's commented HTTPS egress block,
// uncommented, on addr's port, to upstream (trusted through ca) and with
// the key cardproxy injects (injectedKey) in ADYEN_API_KEY.
func exampleHTTPSEgress(t *testing.T, addr, upstream, ca string) string {
	t.Helper()
	b, err := os.ReadFile("../Caddyfile.example")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	start := strings.Index(text, "\n#https://")
	if start < 0 {
		t.Fatal("Caddyfile.example has no commented HTTPS egress block")
	}
	var site []string
	for _, l := range strings.Split(text[start+1:], "\n") {
		site = append(site, strings.TrimPrefix(l, "#"))
		if l == "#}" {
			break
		}
	}
	block := strings.Join(site, "\n") + "\n"
	const psp = "https://checkout-test.adyen.com {\n"
	if !strings.Contains(block, psp) || !strings.Contains(block, "\ttls internal\n") || !strings.Contains(block, "\tbind 127.0.0.1\n") {
		t.Fatalf("the example's HTTPS egress block changed:\n%s", block)
	}
	_, port, _ := strings.Cut(addr, ":")
	t.Setenv("CARDPROXY_EGRESS_TLS_PORT", port)
	t.Setenv("ADYEN_API_KEY", injectedKey)
	return strings.Replace(block, psp, upstream+" {\n\t\tca_cert "+ca+"\n", 1)
}

// waitTLS waits until the egress at addr serves a certificate that chains to
// rootCert (the internal CA issues it asynchronously).
func waitTLS(t *testing.T, addr, rootCert string) {
	t.Helper()
	var err error
	for i := 0; i < 100; i++ {
		var pem []byte
		if pem, err = os.ReadFile(rootCert); err == nil {
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pem)
			var c *tls.Conn
			if c, err = tls.Dial("tcp", addr, &tls.Config{RootCAs: pool}); err == nil {
				c.Close()
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("the HTTPS egress at %s never served a certificate from Caddy's local CA: %v", addr, err)
}
