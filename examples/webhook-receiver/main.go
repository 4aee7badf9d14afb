// Command webhook-receiver is a leadrotor webhook endpoint: it verifies each
// delivery's Standard Webhooks signature with the endpoint's secret (from
// POST /webhooks), drops repeats by webhook-id (deliveries are at least
// once) and prints the events.
//
//	WEBHOOK_SECRET=whsec_... go run ./examples/webhook-receiver -addr 127.0.0.1:8081
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/leadrotor/leadrotor/webhooks"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	secret := os.Getenv("WEBHOOK_SECRET")
	if secret == "" {
		log.Fatal("WEBHOOK_SECRET is not set")
	}
	var mu sync.Mutex
	seen := map[string]bool{}
	http.HandleFunc("POST /", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		if err := webhooks.Verify(secret, r.Header, body, 5*time.Minute, time.Now()); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		id := r.Header.Get(webhooks.HeaderID)
		mu.Lock()
		repeat := seen[id]
		seen[id] = true
		mu.Unlock()
		if repeat {
			w.WriteHeader(http.StatusNoContent) // acknowledged before: nothing to do
			return
		}
		var p struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		fmt.Printf("%s %s %s\n", id, p.Type, p.Data)
		w.WriteHeader(http.StatusNoContent)
	})
	log.Printf("listening on %s", *addr)
	log.Fatal(http.ListenAndServe(*addr, nil))
}
