package httpapi_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/internal/browsertest"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestDocsHeaders checks what /docs promises a browser: its HTML loads the
// vendored renderer from this server, a policy that allows nothing else,
// and a script that is revalidated cheaply.
func TestDocsHeaders(t *testing.T) {
	t.Parallel()
	a := newAPI(t, storetest.SQLite(t))
	page := a.call("", "GET", "/docs", nil)
	require.Equal(t, http.StatusOK, page.status)
	require.Equal(t, "text/html; charset=utf-8", page.header.Get("Content-Type"))
	require.Contains(t, string(page.body), `<script src="/docs/redoc.standalone.js"></script>`)
	require.Contains(t, string(page.body), `Redoc.init("/openapi.yaml"`)
	policy := page.header.Get("Content-Security-Policy")
	for _, directive := range []string{"default-src 'none'", "style-src 'self' 'unsafe-inline'", "connect-src 'self'",
		"font-src 'self'", "frame-ancestors 'none'"} {
		require.Contains(t, policy, directive)
	}
	require.NotContains(t, policy, "http", "the policy names no other origin")
	require.Equal(t, "nosniff", page.header.Get("X-Content-Type-Options"))

	script := a.call("", "GET", "/docs/redoc.standalone.js", nil)
	require.Equal(t, http.StatusOK, script.status)
	require.Equal(t, "text/javascript; charset=utf-8", script.header.Get("Content-Type"))
	require.Greater(t, len(script.body), 500_000, "the whole bundle")
	require.NotContains(t, string(script.body), "cdn.redoc.ly", "the served bundle names no CDN")
	etag := script.header.Get("ETag")
	require.Contains(t, etag, "2.5.4")
	again := a.call("", "GET", "/docs/redoc.standalone.js", nil, "If-None-Match", etag)
	require.Equal(t, http.StatusNotModified, again.status)
	require.Empty(t, again.body)

	// The API's own answers keep their headers: no page policy on JSON.
	require.Empty(t, a.call("", "GET", "/healthz", nil).header.Get("Content-Security-Policy"))
}

// TestDocsRenderInBrowser loads /docs in a real headless Chromium that can
// reach nothing but the test server, and requires the reference to render
// (an operation's summary, the tags) with no console error (a policy
// violation is one) and no request outside the server.
func TestDocsRenderInBrowser(t *testing.T) {
	t.Parallel()
	chrome, err := browsertest.Chrome()
	if err != nil {
		if storetest.Required("browser") {
			t.Fatalf("%v, but LEADROTOR_TEST_REQUIRE names browser", err)
		}
		t.Skipf("%v: browser tests skipped", err)
	}
	a := newAPI(t, storetest.SQLite(t))

	// Nothing but the test server resolves: a request elsewhere fails, and
	// is seen below either way.
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), browsertest.AllocatorOptions(chrome)...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx)) // start the browser with no deadline

	var mu sync.Mutex
	var requests, problems []string
	// Listen sees each event before the command that follows it returns, so
	// once the checks below have run, every event of the load is recorded.
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *runtime.EventConsoleAPICalled:
			if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeAssert {
				problems = append(problems, "console."+string(e.Type)+": "+consoleArgs(e.Args))
			}
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+exceptionText(e.ExceptionDetails))
		case *log.EventEntryAdded:
			if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
				problems = append(problems, "log "+string(e.Entry.Source)+": "+e.Entry.Text+" "+e.Entry.URL)
			}
		}
	}))

	run, stop := context.WithTimeout(ctx, 60*time.Second)
	defer stop()
	require.NoError(t, chromedp.Do(run,
		chromedp.Navigate(a.url+"/docs"),
		chromedp.WaitVisible(chromedp.Search(`//h2[normalize-space()='Create a lead']`)),
	))
	type rendered struct {
		Title   string   `json:"title"`
		Tags    []string `json:"tags"`
		Font    string   `json:"font"`
		Styles  int      `json:"styles"`
		Summary bool     `json:"summary"`
	}
	page, err := chromedp.Run(run, chromedp.Evaluate[rendered](`({
		title: document.querySelector('.api-info h1') ? document.querySelector('.api-info h1').textContent : '',
		tags: Array.from(document.querySelectorAll('.menu-content li[data-item-id^="tag/"] > label')).map(e => e.textContent.trim()),
		font: getComputedStyle(document.querySelector('.api-content')).fontFamily,
		styles: document.querySelectorAll('style').length,
		summary: document.body.textContent.includes('List and search leads'),
	})`))
	require.NoError(t, err)
	require.Contains(t, page.Title, "leadrotor")
	require.Contains(t, page.Tags, "Leads")
	require.Contains(t, page.Tags, "Rotations")
	require.True(t, page.Summary, "every operation is rendered")
	require.Positive(t, page.Styles, "Redoc's inline styles were applied")
	require.Contains(t, page.Font, "system-ui", "the theme's system fonts, no web font")

	mu.Lock()
	defer mu.Unlock()
	require.Empty(t, problems, "console errors while rendering /docs")
	require.NotEmpty(t, requests)
	for _, u := range requests {
		if !strings.HasPrefix(u, a.url+"/") && !strings.HasPrefix(u, "blob:") && !strings.HasPrefix(u, "data:") {
			t.Errorf("/docs made a request outside the server: %s", u)
		}
	}
	require.Contains(t, requests, a.url+"/openapi.yaml", "the document came from the server")
}

// consoleArgs renders a console call's arguments for a failure message.
func consoleArgs(args []*runtime.RemoteObject) string {
	var parts []string
	for _, a := range args {
		switch {
		case a.Description != "":
			parts = append(parts, a.Description)
		default:
			parts = append(parts, string(a.Value))
		}
	}
	return strings.Join(parts, " ")
}

// exceptionText renders an uncaught exception for a failure message.
func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}
