package app

import "runtime/debug"

// ServeGCPercent is the garbage collector's target (GOGC) of a server
// process when the GOGC variable does not set one. A create allocates
// some tens of KB that die when it answers, beside a live heap of a few
// tens of MB, so Go's default (100) collects many times a second under
// load: 17 % of the server's CPU went to the collector. At 200 the server
// spent about 10 % less CPU per lead and peaked near 85 MB resident with
// every feature on (400: 17 % less, 125 MB); docs/BENCHMARKS.md.
const ServeGCPercent = 200

// TuneGC sets the collector's target to ServeGCPercent unless the
// operator chose one with GOGC (getenv is os.Getenv). Only a process that
// serves calls it: it is the process's setting, not a library's.
func TuneGC(getenv func(string) string) {
	if getenv("GOGC") == "" {
		debug.SetGCPercent(ServeGCPercent)
	}
}
