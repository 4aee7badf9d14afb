package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
)

// withService runs fn with a service over the configured store.
func withService(cmd *cobra.Command, fn func(ctx context.Context, m *app.Main) error) error {
	cfg, err := app.Load(cmd)
	if err != nil {
		return err
	}
	m := app.NewMain(cfg, cfg.Logger())
	defer func() { _ = m.Close() }()
	if err := m.OpenService(cmd.Context()); err != nil {
		return err
	}
	return fn(cmd.Context(), m)
}

func migrateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Bring the database schema up to date (serve also does it on start)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				fmt.Fprintf(cmd.OutOrStdout(), "schema of %s is up to date\n", m.Store().Dialect())
				return nil
			})
		},
	}
}

func accountCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "account", Short: "Manage accounts"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Create an account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, _ := cmd.Flags().GetString("id")
			name, _ := cmd.Flags().GetString("name")
			policy, _ := cmd.Flags().GetString("duplicate-policy")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				a, err := m.Service().CreateAccount(ctx, leads.Account{ID: id, Name: name, DuplicatePolicy: leads.DuplicatePolicy(policy)})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "account %s created (duplicate emails: %s)\n", a.ID, a.DuplicatePolicy)
				return nil
			})
		},
	}
	create.Flags().String("id", "", "account id, the value of the x-account-id header (required)")
	create.Flags().String("name", "", "display name")
	create.Flags().String("duplicate-policy", string(leads.DuplicateReject), "what a duplicate email gets: reject or allow")
	_ = create.MarkFlagRequired("id")
	cmd.AddCommand(create)
	return cmd
}

func memberCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "member", Short: "Manage the members of accounts"}
	add := &cobra.Command{
		Use:   "add",
		Short: "Add a user to an account with a role, or change its role",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, _ := cmd.Flags().GetString("account")
			email, _ := cmd.Flags().GetString("email")
			role, _ := cmd.Flags().GetString("role")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				member, err := m.Service().PutMember(ctx, leads.SystemActor(account), leads.Member{Email: email, Role: leads.Role(role)})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is %s of account %s\n", member.Email, member.Role, account)
				return nil
			})
		},
	}
	add.Flags().String("account", "", "account id (required)")
	add.Flags().String("email", "", "the user's email (required)")
	add.Flags().String("role", string(leads.RoleAgent), "admin, manager or agent")
	_ = add.MarkFlagRequired("account")
	_ = add.MarkFlagRequired("email")
	cmd.AddCommand(add)
	return cmd
}

func apikeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage API keys"}
	create := &cobra.Command{
		Use:   "create",
		Short: "Make an API key for a user; the key is printed once and cannot be shown again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, _ := cmd.Flags().GetString("email")
			name, _ := cmd.Flags().GetString("name")
			quiet, _ := cmd.Flags().GetBool("quiet")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				secret, key, err := m.Service().CreateAPIKey(ctx, email, name)
				if err != nil {
					return err
				}
				if quiet {
					fmt.Fprintln(cmd.OutOrStdout(), secret)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "API key for %s (prefix %s), shown this once:\n%s\n", key.Email, key.Prefix, secret)
				return nil
			})
		},
	}
	create.Flags().String("email", "", "the user the key acts as (required)")
	create.Flags().String("name", "", "what the key is for")
	create.Flags().Bool("quiet", false, "print the key alone")
	_ = create.MarkFlagRequired("email")
	revoke := &cobra.Command{
		Use:   "revoke <prefix>",
		Short: "Revoke the API key with the given prefix (lr_ and 8 characters)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				if err := m.Service().RevokeAPIKey(ctx, args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "API key %s revoked\n", args[0])
				return nil
			})
		},
	}
	list := &cobra.Command{
		Use:   "list",
		Short: "List API keys (never their secrets): prefix, user, name, when created, last used (to the minute) and revoked",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, _ := cmd.Flags().GetString("email")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				keys, err := m.Service().APIKeys(ctx, email)
				if err != nil {
					return err
				}
				return writeAPIKeys(cmd.OutOrStdout(), keys)
			})
		},
	}
	list.Flags().String("email", "", "only this user's keys")
	cmd.AddCommand(create, revoke, list)
	return cmd
}

// writeAPIKeys prints keys as a table, times in UTC, "-" for never.
func writeAPIKeys(out io.Writer, keys []leads.APIKey) error {
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "PREFIX\tEMAIL\tNAME\tCREATED\tLAST USED\tREVOKED")
	when := func(t *time.Time) string {
		if t == nil {
			return "-"
		}
		return t.UTC().Format(time.RFC3339)
	}
	for _, k := range keys {
		name := k.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", k.Prefix, k.Email, name, when(&k.CreatedAt), when(k.LastUsedAt), when(k.RevokedAt))
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("write api keys: %w", err)
	}
	return nil
}
