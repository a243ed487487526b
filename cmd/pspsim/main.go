// Command pspsim runs the MultiSafepay-compatible PSP sandbox (package
// pspsim) over HTTPS with a CA it generates, for cardproxy's demo and manual
// testing. The real PSP cannot be reached from a test machine.
//
//	pspsim -listen 127.0.0.1:9443 -api-key-file key.txt -ca-out .demo/pspsim-ca.pem
//
// API: POST /v1/json/orders, GET /v1/json/orders/{id},
// POST /v1/json/orders/{id}/refunds (MultiSafepay), POST /v71/payments
// (Adyen-style), the 3-D Secure challenge at /acs/{id}, and GET
// /_sim/requests (what the sandbox received: the proof the PSP got the card).
package main

import (
	"crypto/tls"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cardproxy/cardproxy/pspsim"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:9443", "address to listen on")
	public := flag.String("public-url", "", "URL browsers use to reach the sandbox (default https://<listen>)")
	keyFile := flag.String("api-key-file", "", "file holding the merchant API key to accept (default $PSPSIM_API_KEY)")
	caOut := flag.String("ca-out", "pspsim-ca.pem", "write the generated CA certificate here (give it to cardproxy as ca_cert)")
	certFile := flag.String("cert", "", "serve this certificate instead of generating one (with -key)")
	keyPEM := flag.String("key", "", "private key for -cert")
	plain := flag.Bool("insecure-http", false, "serve plain HTTP (local experiments only)")
	browserListen := flag.String("browser-listen", "", "also serve the shopper-facing 3-D Secure pages over plain HTTP here (so a demo browser needs no CA); sets the default public URL")
	flag.Parse()

	apiKey := os.Getenv("PSPSIM_API_KEY")
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			log.Fatal(err)
		}
		apiKey = strings.TrimSpace(string(b))
	}
	if apiKey == "" {
		log.Fatal("pspsim: set an API key with -api-key-file or PSPSIM_API_KEY")
	}
	scheme := "https"
	if *plain {
		scheme = "http"
	}
	if *public == "" {
		*public = scheme + "://" + *listen
		if *browserListen != "" {
			*public = "http://" + *browserListen
		}
	}
	sim := pspsim.New(pspsim.Config{APIKey: apiKey, PublicURL: *public})
	srv := &http.Server{Handler: logRequests(sim.Handler()), ReadHeaderTimeout: 10 * time.Second}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		log.Fatal(err)
	}
	switch {
	case *plain:
	case *certFile != "":
		pair, err := tls.LoadX509KeyPair(*certFile, *keyPEM)
		if err != nil {
			log.Fatal(err)
		}
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}
	default:
		host, _, _ := net.SplitHostPort(*listen)
		hosts := []string{"localhost", "127.0.0.1"}
		if host != "" && host != "localhost" && host != "127.0.0.1" {
			hosts = append([]string{host}, hosts...)
		}
		caPEM, cfg, err := pspsim.NewTLS(hosts...)
		if err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(*caOut, caPEM, 0o644); err != nil {
			log.Fatal(err)
		}
		srv.TLSConfig = cfg
		log.Printf("pspsim: CA certificate written to %s", *caOut)
	}
	if *browserListen != "" {
		bl, err := net.Listen("tcp", *browserListen)
		if err != nil {
			log.Fatal(err)
		}
		bsrv := &http.Server{Handler: logRequests(sim.Handler()), ReadHeaderTimeout: 10 * time.Second}
		go func() { log.Fatal(bsrv.Serve(bl)) }()
	}
	log.Printf("pspsim: MultiSafepay-compatible sandbox on %s (public URL %s)", *listen, *public)
	if *plain {
		log.Fatal(srv.Serve(ln))
	}
	log.Fatal(srv.Serve(tls.NewListener(ln, srv.TLSConfig)))
}

// logRequests logs method, path and status — never bodies (they hold cards).
func logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w, status: 200}
		h.ServeHTTP(sw, r)
		log.Printf("%s %s -> %d", r.Method, r.URL.Path, sw.status)
	})
}

type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(c int) { s.status = c; s.ResponseWriter.WriteHeader(c) }
