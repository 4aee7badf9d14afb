package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
)

// withService runs fn with a service over the configured store. An error
// of fn is said as userError says it, naming the objects of ids.
func withService(cmd *cobra.Command, fn func(ctx context.Context, m *app.Main) error, ids ...string) error {
	cfg, err := app.Load(cmd)
	if err != nil {
		return err
	}
	m := app.NewMain(cfg, cfg.Logger())
	defer func() { _ = m.Close() }()
	if err := m.OpenService(cmd.Context()); err != nil {
		return err
	}
	return userError(fn(cmd.Context(), m), ids...)
}

// userError returns err as a person at the command line reads it: a
// domain error by its message, without the API's code, and a missing
// object by its id: "rotation 99 not found" for the "rotation not found" of
// the API, when ids (pairs of kind and id) name a rotation 99. Other errors
// are returned as they are.
func userError(err error, ids ...string) error {
	var e *leads.Error
	if err == nil || !errors.As(err, &e) || e.Code == leads.CodeInternal {
		return err
	}
	msg := e.Message
	for i := 0; i+1 < len(ids); i += 2 {
		if ids[i+1] != "" && strings.EqualFold(msg, ids[i]+" not found") {
			msg = fmt.Sprintf("%s %s not found", ids[i], ids[i+1])
		}
	}
	if field, ok := e.Details["field"].(string); ok {
		msg = fmt.Sprintf("%s: %v", field, e.Details["message"])
	}
	return errors.New(msg)
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
		Use:   "create --account ID",
		Short: "Create an account",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			id, _ := cmd.Flags().GetString("account")
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
	addAccountFlag(create, "the new account's id, the value of the x-account-id header")
	create.Flags().String("name", "", "display name")
	create.Flags().String("duplicate-policy", string(leads.DuplicateReject), "what a duplicate email gets: reject or allow")
	list := &cobra.Command{
		Use:   "list",
		Short: "List the accounts: id, name, duplicate policy, when created",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				accounts, err := m.Store().Accounts(ctx)
				if err != nil {
					return err
				}
				tw := newTable(cmd.OutOrStdout(), "ACCOUNT", "NAME", "DUPLICATES", "CREATED")
				for _, a := range accounts {
					row(tw, a.ID, orDash(a.Name), a.DuplicatePolicy, a.CreatedAt.Format(time.RFC3339))
				}
				return flush(tw, "accounts")
			})
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}

func memberCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "member", Short: "Manage the members of accounts"}
	add := &cobra.Command{
		Use:   "add --account ID --email EMAIL [--role agent]",
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
			}, "account", account)
		},
	}
	addAccountFlag(add, "")
	addEmailFlag(add, "the user's email", true)
	add.Flags().String("role", string(leads.RoleAgent), "admin, manager or agent")
	remove := &cobra.Command{
		Use:   "remove --account ID --email EMAIL",
		Short: "Remove a user from an account, and from its rotations (not the last admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, _ := cmd.Flags().GetString("account")
			email, _ := cmd.Flags().GetString("email")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				if err := m.Service().RemoveMember(ctx, leads.SystemActor(account), email); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s is no longer a member of account %s\n", leads.EmailKey(email), account)
				return nil
			}, "account", account, "member", email)
		},
	}
	addAccountFlag(remove, "")
	addEmailFlag(remove, "the user's email", true)
	list := &cobra.Command{
		Use:   "list --account ID | --email EMAIL",
		Short: "List the members of an account, or the accounts of a user, with their roles",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			account, _ := cmd.Flags().GetString("account")
			email, _ := cmd.Flags().GetString("email")
			if (account == "") == (email == "") {
				return errors.New("member list needs --account or --email (one of them)")
			}
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				var members []leads.Member
				var err error
				if account != "" {
					// An unknown account has no members: say it is unknown.
					if _, err = m.Service().Account(ctx, leads.SystemActor(account)); err == nil {
						members, err = m.Service().Members(ctx, leads.SystemActor(account))
					}
				} else {
					members, err = m.Store().Memberships(ctx, leads.EmailKey(email))
				}
				if err != nil {
					return err
				}
				tw := newTable(cmd.OutOrStdout(), "ACCOUNT", "EMAIL", "ROLE", "SINCE")
				for _, mb := range members {
					row(tw, cmp.Or(mb.AccountID, account), mb.Email, mb.Role, mb.CreatedAt.Format(time.RFC3339))
				}
				return flush(tw, "members")
			}, "account", account)
		},
	}
	list.Flags().String("account", "", "the account whose members to list")
	addEmailFlag(list, "the user whose accounts to list", false)
	cmd.AddCommand(add, remove, list, passwordCmd(), inviteCmd(leads.InviteKindInvite), inviteCmd(leads.InviteKindReset))
	return cmd
}

// passwordCmd is `member password`: an operator sets a user's console
// password, read from stdin so that it stays out of the shell's history
// and the process list.
func passwordCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "password --email EMAIL < password",
		Short: "Set a user's web console password, read as one line from stdin (the user must be a member of an account)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, _ := cmd.Flags().GetString("email")
			password, err := readPassword(cmd.InOrStdin())
			if err != nil {
				return err
			}
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				if err := m.Service().SetPassword(ctx, email, password); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "console password of %s set\n", leads.EmailKey(email))
				return nil
			})
		},
	}
	addEmailFlag(cmd, "the user whose password to set", true)
	return cmd
}

// readPassword reads one line from r, without its line ending; an error
// for none, or an empty one.
func readPassword(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on stdin: give it as one line, e.g. leadrotor member password --email EMAIL < file")
	}
	return line, nil
}

// defaultBaseURL is where `serve` is reached by default (its http-addr is
// :8080), for the links and curl lines the CLI prints.
const defaultBaseURL = "http://localhost:8080"

// inviteCmd is `member invite` (kind invite) or `member reset-password`
// (kind reset): it prints the link, valid once, that the user opens in the
// web console.
func inviteCmd(kind string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "invite --account ID --email EMAIL [--role agent] [--base-url URL]",
		Short: "Invite a user to an account with a role; prints the link, valid once, where they set their password",
		Args:  cobra.NoArgs,
	}
	ttl := 7 * 24 * time.Hour
	if kind == leads.InviteKindReset {
		cmd.Use = "reset-password --account ID --email EMAIL [--base-url URL]"
		cmd.Short = "Let a member set a new console password; prints the link, valid once, and their sessions end when it is used"
		ttl = 24 * time.Hour
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		account, _ := cmd.Flags().GetString("account")
		email, _ := cmd.Flags().GetString("email")
		role, _ := cmd.Flags().GetString("role")
		baseURL, _ := cmd.Flags().GetString("base-url")
		expiresIn, _ := cmd.Flags().GetDuration("expires-in")
		if expiresIn <= 0 {
			return errors.New("--expires-in must be positive")
		}
		return withService(cmd, func(ctx context.Context, m *app.Main) error {
			token, inv, err := m.Service().CreateInvite(ctx, leads.SystemActor(account), email, leads.Role(role), kind, expiresIn)
			if err != nil {
				return err
			}
			what := fmt.Sprintf("invite of %s to account %s as %s", inv.Email, inv.AccountID, inv.Role)
			if kind == leads.InviteKindReset {
				what = fmt.Sprintf("password reset of %s (account %s)", inv.Email, inv.AccountID)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s, valid once until %s:\n%s/console/invite/%s\n",
				what, inv.ExpiresAt.Format(time.RFC3339), strings.TrimRight(baseURL, "/"), token)
			return nil
		}, "account", account, "member", email)
	}
	addAccountFlag(cmd, "")
	addEmailFlag(cmd, "the user's email", true)
	if kind == leads.InviteKindInvite {
		cmd.Flags().String("role", string(leads.RoleAgent), "admin, manager or agent (a member keeps the role they have)")
	}
	cmd.Flags().String("base-url", defaultBaseURL, "the server's URL, for the printed link")
	cmd.Flags().Duration("expires-in", ttl, "how long the link works")
	return cmd
}

func apikeyCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "apikey", Short: "Manage API keys"}
	create := &cobra.Command{
		Use:   "create --email EMAIL [--name TEXT] [--quiet]",
		Short: "Make an API key for a member of an account; the key is printed once and cannot be shown again",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			email, _ := cmd.Flags().GetString("email")
			name, _ := cmd.Flags().GetString("name")
			quiet, _ := cmd.Flags().GetBool("quiet")
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				// A key acts as its user in the accounts the user is a
				// member of: for a user of none, it would open nothing, and
				// is most likely a misspelt email.
				of, err := m.Store().Memberships(ctx, leads.EmailKey(email))
				if err != nil {
					return err
				}
				if len(of) == 0 {
					return fmt.Errorf("%s is a member of no account: add them first (leadrotor member add --account ID --email %s)", leads.EmailKey(email), leads.EmailKey(email))
				}
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
	addEmailFlag(create, "the user the key acts as", true)
	create.Flags().String("name", "", "what the key is for")
	create.Flags().Bool("quiet", false, "print the key alone")
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
			}, "API key", args[0])
		},
	}
	list := &cobra.Command{
		Use:   "list [--email EMAIL]",
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
	addEmailFlag(list, "only this user's keys", false)
	cmd.AddCommand(create, list, revoke)
	return cmd
}

// addEmailFlag declares --email, the user a command is about, the same on
// every command.
func addEmailFlag(cmd *cobra.Command, help string, required bool) {
	if required {
		help += " (required)"
	}
	cmd.Flags().String("email", "", help)
	if required {
		_ = cmd.MarkFlagRequired("email")
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
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
	return flush(w, "API keys")
}

// flush writes out a table of what.
func flush(tw *tabwriter.Writer, what string) error {
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("print %s: %w", what, err)
	}
	return nil
}
