package apiclient_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/httpapi"
	"github.com/leadrotor/leadrotor/internal/apiclient"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/rotation"
	"github.com/leadrotor/leadrotor/store/storetest"
)

// server is a real leadrotor API over a store, with one account whose
// default rotation has two reps, and an agent's API key.
type server struct {
	url, account, key string
}

func newServer(t *testing.T, b *storetest.Backend, account string) server {
	t.Helper()
	ctx := context.Background()
	svc := leads.NewService(b.Store, rotation.NewMemory(b.Store))
	srv := httptest.NewServer(httpapi.New(svc, httpapi.Config{}))
	t.Cleanup(srv.Close)

	_, err := svc.CreateAccount(ctx, leads.Account{ID: account, Name: "Acme"})
	require.NoError(t, err)
	root := leads.SystemActor(account)
	agent := "agent-" + account + "@example.com"
	for _, email := range []string{agent, "ana@example.com", "ben@example.com"} {
		_, err := svc.PutMember(ctx, root, leads.Member{Email: email, Role: leads.RoleAgent})
		require.NoError(t, err)
	}
	_, err = svc.CreateRotation(ctx, root, leads.Rotation{Name: "Everyone", Default: true,
		Members: []leads.RotationMember{{User: "ana@example.com"}, {User: "ben@example.com"}}})
	require.NoError(t, err)
	key, _, err := svc.CreateAPIKey(ctx, agent, "generated client")
	require.NoError(t, err)
	return server{url: srv.URL, account: account, key: key}
}

// TestGeneratedClient drives the create, list and read flow through the
// client oapi-codegen generated from the document, against a real server,
// and checks the typed answers: a document generators misread (a wrong
// type, a missing schema) fails here, at compile time or in decoding.
func TestGeneratedClient(t *testing.T) {
	t.Parallel()
	for i, b := range storetest.All(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := newServer(t, b, []string{"7101", "7102"}[i])
			client, err := apiclient.NewClientWithResponses(s.url, apiclient.WithAPIKey(s.key))
			require.NoError(t, err)

			email := "ada@example.com"
			status := apiclient.StatusContacted
			created, err := client.CreateLeadWithResponse(ctx, &apiclient.CreateLeadParams{XAccountId: s.account},
				apiclient.LeadInput{FirstName: "Ada", LastName: "Lovelace", Email: &email, Status: &status,
					Metadata: &map[string]any{"campaign": "spring"}})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, created.StatusCode(), "body: %s", created.Body)
			lead := created.JSON201
			require.NotNil(t, lead)
			require.NotNil(t, lead.Id)
			require.Positive(t, *lead.Id)
			require.Equal(t, s.account, lead.AccountId)
			require.Equal(t, "Ada", lead.FirstName)
			require.Equal(t, apiclient.StatusContacted, lead.Status)
			require.Equal(t, "ana@example.com", *lead.AssignedTo, "the default rotation's first turn")
			require.NotNil(t, lead.RotationId)
			require.Equal(t, "agent-"+s.account+"@example.com", *lead.CreatedBy)
			require.Equal(t, map[string]any{"campaign": "spring"}, *lead.Metadata)
			require.NotNil(t, lead.AuditLog)
			require.NotEmpty(t, *lead.AuditLog)
			require.Equal(t, "lead_created", (*lead.AuditLog)[0].Event)

			second, err := client.CreateLeadWithResponse(ctx, &apiclient.CreateLeadParams{XAccountId: s.account},
				apiclient.LeadInput{FirstName: "Grace", LastName: "Hopper"})
			require.NoError(t, err)
			require.Equal(t, http.StatusCreated, second.StatusCode(), "body: %s", second.Body)
			require.Equal(t, "ben@example.com", *second.JSON201.AssignedTo, "the rotation's next turn")

			limit := 1
			page, err := client.ListLeadsWithResponse(ctx, &apiclient.ListLeadsParams{XAccountId: s.account, Limit: &limit})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, page.StatusCode(), "body: %s", page.Body)
			require.Len(t, page.JSON200.Data, 1)
			require.Equal(t, "Grace", page.JSON200.Data[0].FirstName, "newest first")
			require.NotNil(t, page.JSON200.NextCursor)
			rest, err := client.ListLeadsWithResponse(ctx, &apiclient.ListLeadsParams{XAccountId: s.account, Cursor: page.JSON200.NextCursor})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, rest.StatusCode(), "body: %s", rest.Body)
			require.Len(t, rest.JSON200.Data, 1)
			require.Equal(t, *lead.Id, *rest.JSON200.Data[0].Id)
			require.Nil(t, rest.JSON200.NextCursor, "the last page")

			read, err := client.GetLeadWithResponse(ctx, *lead.Id, &apiclient.GetLeadParams{XAccountId: s.account})
			require.NoError(t, err)
			require.Equal(t, http.StatusOK, read.StatusCode(), "body: %s", read.Body)
			require.Equal(t, *lead.Id, *read.JSON200.Id)
			require.Equal(t, email, *read.JSON200.Email)
			require.Equal(t, *lead.RotationId, *read.JSON200.RotationId)

			missing, err := client.GetLeadWithResponse(ctx, *lead.Id+1000, &apiclient.GetLeadParams{XAccountId: s.account})
			require.NoError(t, err)
			require.Equal(t, http.StatusNotFound, missing.StatusCode())
			require.NotNil(t, missing.JSON404)
			require.Equal(t, "NOT_FOUND", missing.JSON404.Code)
		})
	}
}

// TestGeneratedClientWithoutKey checks that the client reports the API's
// refusal as its typed error body.
func TestGeneratedClientWithoutKey(t *testing.T) {
	t.Parallel()
	s := newServer(t, storetest.SQLite(t), "7103")
	client, err := apiclient.NewClientWithResponses(s.url)
	require.NoError(t, err)
	res, err := client.ListLeadsWithResponse(context.Background(), &apiclient.ListLeadsParams{XAccountId: s.account})
	require.NoError(t, err)
	require.Equal(t, http.StatusUnauthorized, res.StatusCode())
	require.NotNil(t, res.JSON401)
	require.Equal(t, "UNAUTHENTICATED", res.JSON401.Code)
}
