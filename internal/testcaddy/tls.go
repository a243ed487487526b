package testcaddy

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/cardproxy/cardproxy/pspsim"
)

// TLSServer serves h over HTTPS on loopback with a throwaway CA (for
// 127.0.0.1 and localhost) until the test ends; it returns the server and
// the CA's PEM file, for card_detokenize's ca_cert.
func TLSServer(t testing.TB, h http.Handler) (*httptest.Server, string) {
	t.Helper()
	caPEM, cfg, err := pspsim.NewTLS("127.0.0.1", "localhost")
	if err != nil {
		t.Fatal(err)
	}
	s := httptest.NewUnstartedServer(h)
	s.TLS = cfg
	s.StartTLS()
	t.Cleanup(s.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, caPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return s, ca
}
