package caddymodule

// Reproducers from the seventh adversarial review (SNI in the access log;
// request framing through Caddy). Run:
// go test ./caddymodule -count=1 -run TestAdv7 -v

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// H1. TLS SNI: a shop on HTTPS with a wildcard (or fallback) certificate.
// The SNI is not the Host header; cardproxy checks Host, Caddy's access log
// records request>tls>server_name, which the example's filter does not touch.
func TestAdv7PANInSNIAccessLog(t *testing.T) {
	const pan = "4111111111111111"
	addr, _, access, _ := exampleSite(t, true)
	var c *tls.Conn
	var err error
	for i := 0; i < 50; i++ { // the internal CA issues the certificate asynchronously
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 2 * time.Second}, "tcp", addr,
			&tls.Config{ServerName: pan + ".shop.test", InsecureSkipVerify: true})
		if err == nil {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("TLS: %v", err)
	}
	defer c.Close()
	c.Write([]byte("GET /checkout HTTP/1.1\r\nHost: www.shop.test\r\nConnection: close\r\n\r\n"))
	line, _ := bufio.NewReader(c).ReadString('\n')
	if hits := fileHas(t, access, pan); len(hits) > 0 {
		t.Errorf("%s; Caddy's access log (example filter) carries the PAN from the SNI: %s", strings.TrimSpace(line), hits[0])
	}
}

// B. Framing through the in-process Caddy: each must be refused, or reach the
// app without the PAN.
func TestAdv7Framing(t *testing.T) {
	const pan = "4111111111111111"
	addr, app, _, _ := adv6Caddy(t)
	body := `{"note":"` + pan + `"}`
	chunk := fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
	for name, req := range map[string]string{
		"TE+CL":             "POST /c HTTP/1.1\r\nHost: s\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk,
		"dup CL":            "POST /c HTTP/1.1\r\nHost: s\r\nContent-Length: 3\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body,
		"TE gzip,chunked":   "POST /c HTTP/1.1\r\nHost: s\r\nTransfer-Encoding: gzip, chunked\r\n\r\n" + chunk,
		"obs-fold CT":       "POST /c HTTP/1.1\r\nHost: s\r\nContent-Type: text/plain;\r\n x=1\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body,
		"HTTP/1.0 ka no CL": "POST /c HTTP/1.0\r\nHost: s\r\nConnection: keep-alive\r\n\r\n" + body,
		"expect refused":    "POST /c?card_number=" + pan + " HTTP/1.1\r\nHost: s\r\nExpect: 100-continue\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\n\r\n" + body,
		"pipelined":         "GET / HTTP/1.1\r\nHost: s\r\n\r\nPOST /c HTTP/1.1\r\nHost: s\r\nContent-Length: " + fmt.Sprint(len(body)) + "\r\nConnection: close\r\n\r\n" + body,
	} {
		st := rawDo(t, addr, req)
		time.Sleep(100 * time.Millisecond)
		if seen := app.everything(); strings.Contains(string(seen), pan) {
			t.Errorf("%s: %s: the app got the PAN", name, st)
		} else {
			t.Logf("%s: %s", name, st)
		}
	}
}
