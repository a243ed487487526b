package caddymodule

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/cardproxy/cardproxy/internal/vaulttest"
)

var getAdapter = caddyconfig.GetAdapter

func vaulttestStart() (*vaulttest.Server, error) { return vaulttest.Start() }

func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	s := httptest.NewServer(h)
	t.Cleanup(s.Close)
	return s
}
