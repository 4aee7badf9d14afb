package httpapi

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"

	"github.com/uptrace/bunrouter"
)

// RedocVersion is the version of the vendored Redoc bundle that renders
// /docs (npm package redoc, file bundles/redoc.standalone.js, byte for
// byte; scripts/openapi-check.sh compares it with the published one).
const RedocVersion = "2.5.4"

// redocBundle is Redoc's standalone bundle, vendored so that /docs works
// offline and loads nothing from anywhere but this server. Its licence and
// those of the libraries it bundles are in redoc/.
//
//go:embed redoc/redoc.standalone.js
var redocBundle []byte

// redocLogo is the one thing the bundle fetches from elsewhere, whatever
// its options say: the Redocly logo beside "API docs by Redocly" at the
// foot of the menu, an <img> of Redocly's CDN. Served, the bundle shows an
// empty image there instead (the link and its text stay), so that /docs
// makes no request outside this server and the policy has nothing to
// refuse. The vendored file stays the published one, byte for byte.
const (
	redocLogo   = "https://cdn.redoc.ly/redoc/logo-mini.svg"
	redocNoLogo = `data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E`
)

// redocServed is redocBundle as /docs/redoc.standalone.js serves it.
var redocServed = bytes.ReplaceAll(redocBundle, []byte(redocLogo), []byte(redocNoLogo))

// docsInit starts Redoc on this server's document. The theme names only
// fonts the reader's system has: Redoc's defaults (Montserrat, Roboto) are
// web fonts that pages usually load from Google, which /docs never does.
const docsInit = `Redoc.init("/openapi.yaml", {
  theme: {typography: {
    fontFamily: "system-ui, -apple-system, 'Segoe UI', sans-serif",
    headings: {fontFamily: "system-ui, -apple-system, 'Segoe UI', sans-serif"},
    code: {fontFamily: "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace"}
  }}
}, document.getElementById("redoc"));`

// docsPage is the HTML of /docs: the bundle, then docsInit inline.
const docsPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>leadrotor API reference</title>
<link rel="icon" href="data:,">
</head>
<body>
<div id="redoc"></div>
<script src="/docs/redoc.standalone.js"></script>
<script>` + docsInit + `</script>
</body>
</html>
`

// docsPolicy is the Content-Security-Policy of /docs and its script: the
// page runs the bundle from this server and the one inline script whose
// hash it names, fetches nothing but this server (the document), and
// embeds nothing. Redoc needs two allowances more than a static page:
// inline styles (styled-components writes its CSS into <style> elements)
// and a worker made from a blob: URL (its search index).
var docsPolicy = "default-src 'none'; script-src 'self' 'sha256-" + scriptHash(docsInit) + "'; " +
	"style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
	"worker-src blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// scriptHash is the base64 SHA-256 of an inline script, as CSP names it.
func scriptHash(script string) string {
	sum := sha256.Sum256([]byte(script))
	return base64.StdEncoding.EncodeToString(sum[:])
}

// setDocsHeaders sets the headers of /docs and of its script.
func setDocsHeaders(h http.Header, contentType string) {
	h.Set("Content-Type", contentType)
	h.Set("Content-Security-Policy", docsPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
}

// docs is GET /docs: the API reference, openapi.yaml rendered by Redoc in
// the reader's browser.
func (s *Server) docs(w http.ResponseWriter, _ bunrouter.Request) error {
	setDocsHeaders(w.Header(), "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write([]byte(docsPage))
	return nil
}

// redocScript is GET /docs/redoc.standalone.js, the vendored bundle (see
// redocServed). It
// changes only with RedocVersion, which the ETag names, so a browser that
// has it gets 304.
func (s *Server) redocScript(w http.ResponseWriter, req bunrouter.Request) error {
	setDocsHeaders(w.Header(), "text/javascript; charset=utf-8")
	etag := `"redoc-` + RedocVersion + `"`
	w.Header().Set("ETag", etag)
	w.Header().Set("Cache-Control", "no-cache") // revalidated: the ETag makes that cheap
	if req.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	_, _ = w.Write(redocServed)
	return nil
}
