// Command leadbench is leadrotor's load generator: it drives POST /leads
// with concurrent clients and reports throughput, latency and fairness, on
// a leadrotor it starts in its own process, on running servers (--url), or
// on the row-lock baseline that leadrotor is measured against (--target
// baseline). It is a separate binary so that the product, bin/leadrotor,
// holds neither the load generator nor the baseline, which creates a table
// in whatever database it is pointed at.
//
//	leadbench -c 64 -d 30s                      leadrotor on a throwaway SQLite file
//	leadbench --url http://127.0.0.1:8080 …     running servers
//	leadbench --target baseline --database-url postgres://…
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // rotation time zones work on machines without zoneinfo
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(os.Stderr, "leadbench:", line)
		}
		stop()
		os.Exit(1)
	}
}
