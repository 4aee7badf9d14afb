// Package browsertest finds the headless browser the console's end-to-end
// tests drive, for those tests and for make test's closing line.
package browsertest

import (
	"errors"
	"os"
	"os/exec"

	"github.com/chromedp/chromedp"
)

// Candidates are the browsers looked for, in order: LEADROTOR_CHROME, then
// Debian's chromium, then Google Chrome.
var candidates = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// ErrNoBrowser says no Chromium was found.
var ErrNoBrowser = errors.New("no Chromium found (install Debian's chromium, or set LEADROTOR_CHROME)")

// Chrome returns the path of a Chromium to run headless.
func Chrome() (string, error) {
	names := candidates
	if env := os.Getenv("LEADROTOR_CHROME"); env != "" {
		names = []string{env}
	}
	for _, c := range names {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// AllocatorOptions are the options of the headless Chromium at path that
// the browser tests drive: chromedp's defaults, no sandbox (CI runs as
// root), no /dev/shm, a laptop's window, and no host but 127.0.0.1 that
// resolves, so that a page can reach nothing but the test server.
func AllocatorOptions(path string) []chromedp.ExecAllocatorOption {
	return append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.WindowSize(1366, 900),
	)
}
