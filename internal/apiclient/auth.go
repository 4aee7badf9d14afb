package apiclient

import (
	"context"
	"net/http"
)

// WithAPIKey returns a client option that sends key as the bearer token of
// every request, as every operation but the public ones requires.
func WithAPIKey(key string) ClientOption {
	return WithRequestEditorFn(func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+key)
		return nil
	})
}
