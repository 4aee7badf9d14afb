package leads_test

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

// openExample returns a Service over a new SQLite database and the
// in-process rotator, with account "2311", its admin and three reps, and a
// function that removes it all.
func openExample() (*leads.Service, leads.Actor, func()) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "leadrotor-example")
	if err != nil {
		log.Fatal(err)
	}
	st, err := store.Open(ctx, "file:"+filepath.Join(dir, "leads.db"))
	if err != nil {
		log.Fatal(err)
	}
	svc := leads.NewService(st, rotation.NewMemory(st))
	if _, err := svc.CreateAccount(ctx, leads.Account{ID: "2311", Name: "Acme"}); err != nil {
		log.Fatal(err)
	}
	for _, m := range []leads.Member{
		{Email: "boss@example.com", Role: leads.RoleAdmin},
		{Email: "ann@example.com", Role: leads.RoleAgent},
		{Email: "bob@example.com", Role: leads.RoleAgent},
		{Email: "cid@example.com", Role: leads.RoleAgent},
	} {
		if _, err := svc.PutMember(ctx, leads.SystemActor("2311"), m); err != nil {
			log.Fatal(err)
		}
	}
	admin, err := svc.MemberActor(ctx, "2311", "boss@example.com")
	if err != nil {
		log.Fatal(err)
	}
	return svc, admin, func() { _ = st.Close(); _ = os.RemoveAll(dir) }
}

// Create stores a lead; with no rotation in the account, nobody gets it.
func ExampleService_CreateLead() {
	svc, admin, done := openExample()
	defer done()
	res, err := svc.CreateLead(context.Background(), admin, leads.LeadInput{
		FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com",
	}, leads.CreateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Lead.ID, res.Lead.Status, res.Lead.CreatedBy, res.Assignment.Reason)
	for _, e := range res.Lead.AuditLog {
		fmt.Println(e.Event)
	}
	// Output:
	// 1 new boss@example.com no_rotation
	// lead_created
}

// A rotation hands leads to its members in turn; a member with weight 2
// gets two turns for the others' one, spread out (smooth weighted
// round-robin).
func ExampleService_CreateLead_rotation() {
	svc, admin, done := openExample()
	defer done()
	ctx := context.Background()
	_, err := svc.CreateRotation(ctx, admin, leads.Rotation{Name: "Everyone", Default: true, Members: []leads.RotationMember{
		{User: "ann@example.com", Weight: 2}, {User: "bob@example.com"}, {User: "cid@example.com"},
	}})
	if err != nil {
		log.Fatal(err)
	}
	for _, name := range []string{"Ada", "Grace", "Alan", "Edsger"} {
		res, err := svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: name, LastName: "Example"}, leads.CreateOptions{})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, "->", res.Lead.AssignedTo, res.Assignment.Reason)
	}
	// Output:
	// Ada -> ann@example.com rotation
	// Grace -> bob@example.com rotation
	// Alan -> cid@example.com rotation
	// Edsger -> ann@example.com rotation
}

// Every error a caller can act on has a stable code, a message and details.
func ExampleErrorCode() {
	svc, admin, done := openExample()
	defer done()
	ctx := context.Background()
	_, err := svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: "Ada"}, leads.CreateOptions{})
	fmt.Println(leads.ErrorCode(err), leads.ErrorDetails(err)["field"])

	in := leads.LeadInput{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com"}
	if _, err := svc.CreateLead(ctx, admin, in, leads.CreateOptions{}); err != nil {
		log.Fatal(err)
	}
	_, err = svc.CreateLead(ctx, admin, in, leads.CreateOptions{})
	fmt.Println(leads.ErrorCode(err), leads.ErrorMessage(err), leads.ErrorDetails(err)["existingLeadId"])

	_, err = svc.Lead(ctx, admin, 99)
	fmt.Println(leads.ErrorCode(err))
	// Output:
	// VALIDATION_ERROR lastName
	// DUPLICATE_EMAIL Email already exists 1
	// NOT_FOUND
}

// PatchOf builds an update from typed values: here the status, the
// assignee, and the phone number cleared (a field named with its zero value
// is cleared).
func ExamplePatchOf() {
	svc, admin, done := openExample()
	defer done()
	ctx := context.Background()
	res, err := svc.CreateLead(ctx, admin, leads.LeadInput{FirstName: "Ada", LastName: "Lovelace", Phone: "+1 555 0100"}, leads.CreateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	patch, err := leads.PatchOf(leads.LeadInput{Status: leads.StatusContacted, AssignedTo: "ann@example.com"},
		"status", "assignedTo", "phone")
	if err != nil {
		log.Fatal(err)
	}
	lead, err := svc.UpdateLead(ctx, admin, res.Lead.ID, patch, leads.UpdateOptions{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s %q\n", lead.Status, lead.AssignedTo, lead.Phone)
	_, err = leads.PatchOf(leads.LeadInput{}, "stauts")
	fmt.Println(leads.ErrorCode(err), leads.ErrorDetails(err)["field"])
	// Output:
	// contacted ann@example.com ""
	// VALIDATION_ERROR stauts
}
