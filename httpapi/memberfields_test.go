package httpapi_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/store/storetest"
)

// TestRotationMemberRoutesNameTheirOwnFields: the body of POST
// /rotations/{id}/members and PATCH /rotations/{id}/members/{user} is one
// member, and a refusal names its field as that body spells it (user,
// weight), not by the member's place in the rotation (members[3].user),
// which the client never sent.
func TestRotationMemberRoutesNameTheirOwnFields(t *testing.T) {
	t.Parallel()
	f := newFixture(t, storetest.SQLite(t))
	for _, tc := range []struct {
		method, path string
		body         map[string]any
		field        string
	}{
		{"POST", "/rotations/1/members", map[string]any{"user": "notanemail"}, "user"},
		{"POST", "/rotations/1/members", map[string]any{"user": "dan@example.com", "weight": -4}, "weight"},
		{"POST", "/rotations/1/members", map[string]any{"user": "dan@example.com", "position": 0, "maxOpenLeads": -1}, "maxOpenLeads"},
		{"PATCH", "/rotations/1/members/ana@example.com", map[string]any{"weight": -1}, "weight"},
	} {
		requireRefused(t, f.call("manager", tc.method, tc.path, tc.body), tc.field, tc.method+" "+tc.path)
	}
	res := f.call("manager", "POST", "/rotations/1/members", map[string]any{"user": "nobody@example.com"})
	require.Equal(t, http.StatusBadRequest, res.status, "%s", res.body)
	require.Equal(t, "user", res.json(t)["details"].(map[string]any)["field"], "a non-member, on user")
}
