package soak

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"

	"github.com/cardproxy/cardproxy/pspsim"
)

// received is one request as a server got it.
type received struct {
	header http.Header
	body   []byte
}

// inbox keeps what a server received, by order_id, until the round trip
// takes it (so a long soak holds only the requests in flight).
type inbox struct {
	mu sync.Mutex
	m  map[string]received
}

func newInbox() *inbox { return &inbox{m: map[string]received{}} }

func (b *inbox) take(id string) (received, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	r, ok := b.m[id]
	delete(b.m, id)
	return r, ok
}

func (b *inbox) len() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}

// handler records each request under its body's order_id and writes
// answer(body) as JSON.
func (b *inbox) handler(answer func(body []byte) any) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		var o struct {
			OrderID string `json:"order_id"`
		}
		if err != nil || json.Unmarshal(body, &o) != nil || o.OrderID == "" {
			http.Error(w, "no order_id", http.StatusBadRequest)
			return
		}
		b.mu.Lock()
		b.m[o.OrderID] = received{r.Header.Clone(), body}
		b.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer(body))
	})
}

// newApp is the merchant app behind the ingress: it records what it gets.
func newApp() (*httptest.Server, *inbox) {
	in := newInbox()
	return httptest.NewServer(in.handler(func([]byte) any { return map[string]bool{"ok": true} })), in
}

// newPSP is the HTTPS upstream behind the egress: it records what it gets
// and echoes the order's gateway_info (which the egress must mask on the way
// back to the app). caFile is its CA for card_detokenize's ca_cert.
func newPSP(dir string) (srv *httptest.Server, in *inbox, caFile string, err error) {
	caPEM, cfg, err := pspsim.NewTLS("127.0.0.1", "localhost")
	if err != nil {
		return nil, nil, "", err
	}
	caFile = filepath.Join(dir, "psp-ca.pem")
	if err := os.WriteFile(caFile, caPEM, 0o600); err != nil {
		return nil, nil, "", err
	}
	in = newInbox()
	srv = httptest.NewUnstartedServer(in.handler(func(body []byte) any {
		var o struct {
			OrderID     string          `json:"order_id"`
			GatewayInfo json.RawMessage `json:"gateway_info"`
		}
		_ = json.Unmarshal(body, &o)
		return map[string]any{"success": true, "data": map[string]any{
			"order_id": o.OrderID, "status": "completed", "gateway_info": o.GatewayInfo,
		}}
	}))
	srv.TLS = cfg
	srv.StartTLS()
	return srv, in, caFile, nil
}
