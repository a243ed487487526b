// Command demoshop runs the demo merchant app (package demoshop) behind
// cardproxy. See scripts/demo.sh.
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/cardproxy/cardproxy/demoshop"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:3000", "address to listen on")
	public := flag.String("public-url", "http://127.0.0.1:8080", "the shop's URL as shoppers reach it (cardproxy's ingress)")
	egress := flag.String("egress", "http://127.0.0.1:8081/v1/json", "cardproxy's egress route to the MultiSafepay API")
	keyFile := flag.String("api-key-file", "", "MultiSafepay API key file, to verify webhooks (default $MSP_API_KEY)")
	reqLog := flag.String("request-log", "shop-requests.log", "append every request received here (JSON lines)")
	flag.Parse()
	key := os.Getenv("MSP_API_KEY")
	if *keyFile != "" {
		b, err := os.ReadFile(*keyFile)
		if err != nil {
			log.Fatal(err)
		}
		key = strings.TrimSpace(string(b))
	}
	shop, err := demoshop.New(demoshop.Config{PublicURL: *public, Egress: *egress, APIKey: key, RequestLog: *reqLog})
	if err != nil {
		log.Fatal(err)
	}
	log.Printf("demoshop on http://%s (shoppers use %s)", *listen, *public)
	srv := &http.Server{Addr: *listen, Handler: shop, ReadHeaderTimeout: 10 * time.Second}
	log.Fatal(srv.ListenAndServe())
}
