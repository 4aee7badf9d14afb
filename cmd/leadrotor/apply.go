package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/leadrotor/leadrotor/cmd/internal/app"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
)

func applyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "apply -f rotations.yaml [--dry-run] [--account ID]",
		Short: "Make an account's members, teams, lead sources, rotations and routing rules what a YAML file declares",
		Long: `Read a YAML file that declares an account's configuration (see examples/rotations.yaml),
print what differs from the account as it is, and make the changes:

  + create   ~ update   = unchanged   . not in the file: kept

Apply creates and updates, and never deletes: members, teams, lead sources,
rotations and routing rules the file does not name stay. A rotation's members
are exactly the file's list. The file's routing rules come first in the
account's order, in the file's order; the account's other rules follow them.
A rule names its rotation or team by name.
The changes are made one by one, each audited; if one fails, those made stay
and running apply again carries out the rest. With --dry-run nothing is
written. The account is --account, else the file's "account".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, _ := cmd.Flags().GetString("file")
			dryRun, _ := cmd.Flags().GetBool("dry-run")
			account, _ := cmd.Flags().GetString("account")
			spec, err := readSpecFile(cmd.InOrStdin(), file)
			if err != nil {
				return err
			}
			if account == "" {
				account = spec.Account
			}
			if account == "" {
				return errors.New("no account: give --account or set account in the file")
			}
			return withService(cmd, func(ctx context.Context, m *app.Main) error {
				return runApply(ctx, cmd.OutOrStdout(), m.Service(), leads.SystemActor(account), spec, dryRun)
			}, "account", account)
		},
	}
	cmd.Flags().StringP("file", "f", "", `the YAML file to apply ("-" for standard input) (required)`)
	cmd.Flags().Bool("dry-run", false, "print the plan and change nothing")
	cmd.Flags().String("account", "", "account id (default: the file's account)")
	_ = cmd.MarkFlagRequired("file")
	return cmd
}

// runApply applies spec and prints the plan, then what was done.
func runApply(ctx context.Context, w io.Writer, svc *leads.Service, actor leads.Actor, spec spec.Spec, dryRun bool) error {
	plan, err := spec.Apply(ctx, svc, actor, dryRun)
	if plan != nil {
		if werr := plan.Write(w); werr != nil {
			return werr
		}
	}
	switch {
	case err != nil && plan != nil && plan.Applied > 0:
		fmt.Fprintf(w, "%d of %s applied before the error; apply again to carry out the rest\n", plan.Applied, changes(plan.Changes()))
		return err
	case err != nil:
		return err
	case plan.Changes() == 0 && dryRun:
		fmt.Fprintln(w, "(dry run) no changes")
	case plan.Changes() == 0:
		fmt.Fprintln(w, "no changes")
	case dryRun:
		fmt.Fprintf(w, "(dry run) %s would be applied\n", changes(plan.Changes()))
	default:
		fmt.Fprintf(w, "%s applied\n", changes(plan.Applied))
	}
	return nil
}

// changes returns "1 change" or "n changes".
func changes(n int) string {
	if n == 1 {
		return "1 change"
	}
	return fmt.Sprintf("%d changes", n)
}

// readSpecFile reads the spec in the YAML file named name, or in stdin when
// name is "-".
func readSpecFile(stdin io.Reader, name string) (spec.Spec, error) {
	if name == "-" {
		return readSpec(stdin, "standard input")
	}
	f, err := os.Open(name)
	if err != nil {
		return spec.Spec{}, fmt.Errorf("read spec: %w", err)
	}
	defer func() { _ = f.Close() }()
	return readSpec(f, name)
}

// readSpec decodes a YAML spec. The YAML goes through JSON so that the
// spec's JSON field names are the file's keys, and an unknown key (a typo)
// is an error that names it instead of being ignored.
func readSpec(r io.Reader, name string) (spec.Spec, error) {
	var doc any
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return spec.Spec{}, fmt.Errorf("%s: %w", name, err)
	}
	doc = jsonValue(doc)
	if top, ok := doc.(map[string]any); ok {
		// account: 2311 is a YAML number; it means the account "2311".
		if n, ok := top["account"].(int); ok {
			top["account"] = strconv.Itoa(n)
		}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return spec.Spec{}, fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var out spec.Spec
	if err := dec.Decode(&out); err != nil {
		return spec.Spec{}, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "json: "))
	}
	return out, nil
}

// jsonValue returns v with every map keyed by strings, as JSON needs; YAML
// allows other keys (1: x), which become their text.
func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonValue(e)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = jsonValue(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = jsonValue(e)
		}
		return v
	}
	return v
}
