// Package leads is the domain of leadrotor: leads, the teams and lead sources
// that an account's rules require them to name, and the rotations that hand
// them to sales reps in turn.
//
// # Embedding
//
// A program builds one Service over a Store and a Rotator and calls it as
// an Actor of an account:
//
//	st, err := store.Open(ctx, "file:leads.db")     // or postgres://…
//	svc := leads.NewService(st, rotation.NewMemory(st)) // or rotation.NewRedis
//	actor, err := svc.MemberActor(ctx, "2311", "boss@example.com")
//	res, err := svc.CreateLead(ctx, actor, leads.LeadInput{FirstName: "Ada", LastName: "Lovelace"}, leads.CreateOptions{})
//
// The entry points: CreateLead stores a lead and assigns it (see its doc for
// the order of the rules); Lead, ListLeads, Update, Assign and Delete work
// on stored leads; CreateTeam, CreateLeadSource and CreateRotation shape an
// account; RunAssigner, in one goroutine per process, assigns the leads
// whose rotation could not be asked when they were created. Authenticate
// turns an API key into an Actor; SystemActor is an operator's. For the web
// console, SignIn checks a member's password (WithPasswordHasher), and
// StartSession and Session turn a session token into an Actor; invites
// (CreateInvite, AcceptInvite) let people join an account or reset their
// password.
//
// The Service is the whole engine: it depends only on the two small
// interfaces defined here, Store (persistence) and Rotator (turn
// decisions), so that it knows nothing of SQL, Redis or HTTP. Package store
// implements Store on SQLite and PostgreSQL; package rotation implements
// Rotator in process and on Redis.
//
// Every failure the caller can act on is an *Error with a stable Code; see
// ErrorCode, ErrorMessage and ErrorDetails.
package leads
