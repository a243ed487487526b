// Command echoapp is the stand-in merchant app of the local demo: it answers
// every request with a JSON description of what it received (method, path,
// headers, body) and appends the same to a log file. That log is the evidence
// that the app behind cardproxy never sees card data.
//
//	echoapp -listen 127.0.0.1:3000 -log .demo/app-requests.log
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:3000", "address to listen on")
	logPath := flag.String("log", "", "append every request received to this file (JSON lines)")
	flag.Parse()

	var mu sync.Mutex
	var logFile *os.File
	if *logPath != "" {
		f, err := os.OpenFile(*logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
		if err != nil {
			log.Fatal(err)
		}
		logFile = f
	}
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
		if err != nil {
			http.Error(w, "read error", http.StatusBadRequest)
			return
		}
		seen := map[string]any{
			"method":  r.Method,
			"uri":     r.RequestURI,
			"headers": r.Header,
			"body":    string(body),
		}
		b, _ := json.MarshalIndent(seen, "", "  ")
		if logFile != nil {
			line, _ := json.Marshal(seen)
			mu.Lock()
			_, _ = logFile.Write(append(line, '\n'))
			mu.Unlock()
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(append(b, '\n'))
	})
	log.Printf("echoapp listening on http://%s", *listen)
	log.Fatal(http.ListenAndServe(*listen, nil))
}
