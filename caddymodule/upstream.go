package caddymodule

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/cardproxy/cardproxy/httpbody"
	"github.com/cardproxy/cardproxy/refusal"
	"github.com/cardproxy/cardproxy/token"
)

// The egress's one upstream: the HTTP client bound to it, and the request
// that goes there.

// upstreamClient is the client for the PSP: TLS 1.2+ with the configured
// trust, no proxy from the environment, no redirects followed, no
// transparent decompression (cardproxy scans what comes back).
func (d *Detokenize) upstreamClient(repl *caddy.Replacer) (*http.Client, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: d.TLSServerName}
	if caFile := repl.ReplaceKnown(d.CACert, ""); caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("card_detokenize: ca_cert: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("card_detokenize: ca_cert %s holds no PEM certificates", d.CACert)
		}
		tlsCfg.RootCAs = pool
	}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 nil, // never via HTTP(S)_PROXY: card data goes straight to the PSP
			DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsCfg,
			TLSHandshakeTimeout:   10 * time.Second,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   32,
			IdleConnTimeout:       90 * time.Second,
			ResponseHeaderTimeout: time.Duration(d.Timeout),
			DisableCompression:    true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       time.Duration(d.Timeout),
	}, nil
}

// hopHeaders are not forwarded (RFC 9110 7.6.1) in either direction.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade"}

func requestID(r *http.Request) string {
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		if v, ok := repl.GetString("http.request.uuid"); ok {
			return v
		}
	}
	return ""
}

func (d *Detokenize) readRequest(r *http.Request) ([]byte, *refusal.Error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if enc := r.Header.Get("Content-Encoding"); enc != "" && !strings.EqualFold(enc, "identity") {
		return nil, refusal.New(refusal.UnsupportedContentEncoding, fmt.Sprintf("Content-Encoding %q on egress requests is not supported; send the PSP request uncompressed", enc))
	}
	return httpbody.Read(r, d.MaxBody)
}

// outbound builds the upstream request: fixed scheme and host, the
// upstream's base path + the request path, the request's query; hop-by-hop,
// Host, Cardproxy-* and forwarding headers dropped.
func (d *Detokenize) outbound(ctx context.Context, r *http.Request, body []byte) (*http.Request, error) {
	u := *d.upstream
	u.Path = strings.TrimRight(d.upstream.Path, "/") + r.URL.Path
	u.RawPath = ""
	u.RawQuery = r.URL.RawQuery
	if d.apiKey != "" && strings.Contains(u.RawQuery, "api_key") {
		q := r.URL.Query()
		q.Del("api_key") // cardproxy sends its own
		u.RawQuery = q.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	up, err := http.NewRequestWithContext(ctx, r.Method, u.String(), rd)
	if err != nil {
		return nil, fmt.Errorf("cannot build the upstream request")
	}
	for k, vs := range r.Header {
		up.Header[k] = append([]string(nil), vs...)
	}
	for _, h := range hopHeaders {
		up.Header.Del(h)
	}
	token.StripMetaHeaders(up.Header)
	for k := range up.Header {
		lk := strings.ToLower(k)
		if strings.HasPrefix(lk, "x-forwarded-") || lk == "forwarded" || lk == "via" {
			up.Header.Del(k)
		}
	}
	up.Header.Del("Accept-Encoding") // identity: cardproxy scans what comes back
	up.Host = ""                     // = the upstream's host
	if body != nil {
		up.ContentLength = int64(len(body))
		up.Header.Set("Content-Length", strconv.Itoa(len(body)))
	}
	if d.apiKey != "" {
		up.Header.Del("Authorization")
		up.Header.Del("Api_key")
		up.Header.Del("X-Api-Key")
		if strings.EqualFold(d.APIKeyHeader, "bearer") {
			up.Header.Set("Authorization", "Bearer "+d.apiKey)
		} else {
			up.Header[d.APIKeyHeader] = []string{d.apiKey} // as named: MultiSafepay's is lower-case api_key
		}
	}
	return up, nil
}
