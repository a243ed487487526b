package caddymodule

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// BenchmarkHostileBodies measures what one hostile request costs the
// ingress (bytes allocated per request, -benchmem): a ~1 KB gzip body that
// decodes to 1 MiB of JSON nested 127 deep, and 1 MiB of empty multipart
// parts. Both are refused (depth / value limits); the cost stays a small
// multiple of the decoded size (before the limits: 2.2 GB and 110 MiB).
//
//	scripts/test.sh -run '^$' -bench HostileBodies -benchmem ./caddymodule
func BenchmarkHostileBodies(b *testing.B) {
	hs := newHarness(b, nil)
	var deep bytes.Buffer
	zw := gzip.NewWriter(&deep)
	inner := strings.Repeat(`"x",`, (1<<20)/4-300) + `"x"`
	_, _ = zw.Write([]byte(strings.Repeat("[", 127) + inner + strings.Repeat("]", 127)))
	_ = zw.Close()
	parts := strings.Repeat("--b\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n\r\n", (1<<20)/52) + "--b--\r\n"
	for _, c := range []struct {
		name, ct, enc string
		body          []byte
	}{
		{"gzip-deep-json", "application/json", "gzip", deep.Bytes()},
		{"empty-multipart-parts", "multipart/form-data; boundary=b", "", []byte(parts)},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportMetric(float64(len(c.body)), "request_bytes")
			for i := 0; i < b.N; i++ {
				r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(c.body))
				r.Header.Set("Content-Type", c.ct)
				if c.enc != "" {
					r.Header.Set("Content-Encoding", c.enc)
				}
				w, app := hs.do(b, r)
				if app.called != 0 || w.Code != http.StatusRequestEntityTooLarge {
					b.Fatalf("hostile body not refused: %d %s", w.Code, w.Body)
				}
			}
		})
	}
}
