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
// ingress (time and bytes allocated per request, -benchmem): a ~1 KB gzip
// body that decodes to 1 MiB of JSON nested 127 deep, and 1 MiB of empty
// multipart parts, both refused at the limits (before the limits: 1.1 GB and
// 110 MB); and 1 MiB text bodies that the text checks read in every
// decoding.
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
	text := func(unit string) []byte { return []byte(strings.Repeat(unit, (1<<20-64)/len(unit))) }
	for _, c := range []struct {
		name, ct, enc string
		body          []byte
		status        int
	}{
		{"gzip-deep-json", "application/json", "gzip", deep.Bytes(), 413},
		{"empty-multipart-parts", "multipart/form-data; boundary=b", "", []byte(parts), 413},
		// Text read in all its decodings (CPU, not memory, is the cost).
		{"text-plain", "text/plain", "", text("lorem ipsum dolor sit amet "), 200},
		{"text-percent-digits", "text/plain", "", text("%34"), 200},
		{"text-html-refs", "text/plain", "", text("&#x34;"), 200},
		{"text-digit-run", "text/plain", "", text("4"), 200},
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
				if w.Code != c.status || (c.status != 200) != (app.called == 0) {
					b.Fatalf("status %d (want %d), app called %d: %.200s", w.Code, c.status, app.called, w.Body)
				}
			}
		})
	}
}
