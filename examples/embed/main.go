// Command embed shows leadrotor used as a library, in process, with no HTTP:
// a SQLite store, the in-process rotator and the Service. It creates an
// account with three reps, a weighted rotation, and a few leads, and prints
// who got each one and why.
//
//	go run ./examples/embed
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/store"
)

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	dir, err := os.MkdirTemp("", "leadrotor-embed")
	if err != nil {
		return err
	}
	defer func() { _ = os.RemoveAll(dir) }()

	// The store remembers leads; the rotator decides turns and rebuilds its
	// state from the store after a restart.
	st, err := store.Open(ctx, "file:"+filepath.Join(dir, "leads.db"))
	if err != nil {
		return err
	}
	defer func() { _ = st.Close() }()
	svc := leads.NewService(st, rotation.NewMemory(st))

	if _, err := svc.CreateAccount(ctx, leads.Account{ID: "acme", Name: "Acme"}); err != nil {
		return err
	}
	admin := leads.SystemActor("acme")
	for _, rep := range []string{"ana@acme.test", "ben@acme.test", "cara@acme.test"} {
		if _, err := svc.PutMember(ctx, admin, leads.Member{Email: rep, Role: leads.RoleAgent}); err != nil {
			return err
		}
	}
	// Cara closes the most: she gets two leads for every one of the others.
	_, err = svc.CreateRotation(ctx, admin, leads.Rotation{Name: "Sales", Default: true, Members: []leads.RotationMember{
		{User: "ana@acme.test"}, {User: "ben@acme.test"}, {User: "cara@acme.test", Weight: 2},
	}})
	if err != nil {
		return err
	}

	for _, name := range []string{"Ada", "Grace", "Edsger", "Barbara", "Alan", "Margaret", "Donald", "Frances"} {
		res, err := svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: name, LastName: "Example"}, leads.CreateOptions{})
		if err != nil {
			return err
		}
		fmt.Printf("lead %d %-8s -> %-15s (rotation %q, turn %d)\n",
			res.Lead.ID, name, res.Lead.AssignedTo, res.Assignment.RotationName, res.Assignment.Turn)
	}

	// Rules are enforced in process exactly as over HTTP.
	_, err = svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: "No last name"}, leads.CreateOptions{})
	fmt.Printf("invalid lead -> %s: %s %v\n", leads.ErrorCode(err), leads.ErrorMessage(err), leads.ErrorDetails(err)["field"])
	return nil
}
