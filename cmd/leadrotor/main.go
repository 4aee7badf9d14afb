// Command leadrotor runs the lead rotation server and administers it.
//
//	leadrotor serve                                 run the HTTP API
//	leadrotor migrate                               bring the database schema up to date
//	leadrotor account create|list --account 2311    create an account, list them
//	leadrotor member add|remove|list …              a user's role in an account
//	leadrotor member password|invite|reset-password  web console passwords and one-use links
//	leadrotor apikey create|list|revoke …           API keys (printed once, when made)
//	leadrotor demo                                  make the demo account and print a key
//	leadrotor apply -f rotations.yaml               declare teams, lead sources, rotations, routing rules
//	leadrotor rotation next|stats <id>              who is next, and how fair it has been
//	leadrotor timeoff add|list|remove …             members' time off
//	leadrotor schedule set|clear|show …             members' working hours
//
// The same flag means the same thing on every command: --account is an
// account's id, --email a user, -n a count. Settings come from flags, then
// LEADROTOR_* environment variables, then a config file (--config), then
// defaults that need nothing installed. The load generator is another
// command, leadbench.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	_ "time/tzdata" // rotation time zones work on machines without zoneinfo

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		// One line per mistake (a configuration may have several), each
		// saying where it comes from.
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintln(os.Stderr, "leadrotor:", line)
		}
		stop()
		os.Exit(1)
	}
}

// newRootCmd builds the command tree writing to stdout and stderr.
func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "leadrotor",
		Short:         "Lead rotation and assignment engine",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	app.AddGlobalFlags(root)
	root.AddCommand(serveCmd(), migrateCmd(), accountCmd(), memberCmd(), apikeyCmd(), demoCmd(), applyCmd(), rotationCmd(), routeCmd(), timeoffCmd(), scheduleCmd(),
		simulateCmd())
	return root
}

func serveCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the HTTP API until SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := app.Load(cmd)
			if err != nil {
				return err
			}
			app.TuneGC(os.Getenv)
			m := app.NewMain(cfg, cfg.Logger())
			defer func() { _ = m.Close() }()
			if err := m.Open(cmd.Context()); err != nil {
				return err
			}
			return m.Run(cmd.Context())
		},
	}
	app.AddServeFlags(cmd)
	return cmd
}
