package httpapi

import (
	"context"
	_ "embed"
	"net/http"
	"sync"
	"time"

	"github.com/uptrace/bunrouter"
)

// readyTimeout bounds each readiness check, so that a hung dependency makes
// /readyz answer 503 instead of hanging the prober.
const readyTimeout = 2 * time.Second

// healthz is GET /healthz: 200 while the process serves.
func (s *Server) healthz(w http.ResponseWriter, _ bunrouter.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

// readyz is GET /readyz, every check run at once: 200 "ready" when every
// dependency answers; 200 "degraded" when only optional ones fail (the
// server serves, with less: without Redis, leads wait for assignment); 503
// "unavailable" when a required one fails. checks says what each answered.
func (s *Server) readyz(w http.ResponseWriter, req bunrouter.Request) error {
	checks := make(map[string]string, len(s.cfg.Ready)+len(s.cfg.Degraded))
	var mu sync.Mutex
	var wg sync.WaitGroup
	ready, degraded := true, false
	run := func(list map[string]Check, required bool) {
		for name, check := range list {
			wg.Go(func() {
				ctx, cancel := context.WithTimeout(req.Context(), readyTimeout)
				defer cancel()
				result := "ok"
				if err := check(ctx); err != nil {
					result = err.Error()
				}
				mu.Lock()
				defer mu.Unlock()
				checks[name] = result
				if result != "ok" {
					ready = ready && !required
					degraded = degraded || !required
				}
			})
		}
	}
	run(s.cfg.Ready, true)
	run(s.cfg.Degraded, false)
	wg.Wait()
	status, code := http.StatusOK, "ready"
	switch {
	case !ready:
		status, code = http.StatusServiceUnavailable, "unavailable"
	case degraded:
		code = "degraded"
	}
	writeJSON(w, status, map[string]any{"status": code, "checks": checks})
	return nil
}

//go:embed openapi.yaml
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return openAPIDocument }

// openAPI is GET /openapi.yaml.
func (s *Server) openAPI(w http.ResponseWriter, _ bunrouter.Request) error {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPIDocument)
	return nil
}
