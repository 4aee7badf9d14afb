package webhooks

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// A job's events are kept as one JSON string (one entry of river's GIN
// index on args), and read back from it or from the document that jobs
// written before held.
func TestPackedArgs(t *testing.T) {
	events := []leads.Event{{ID: "evt_1", Type: leads.EventTypeAssigned, AccountID: "acme", LeadID: 7,
		Lead: &leads.Lead{ID: 7, LeadInput: leads.LeadInput{FirstName: "Ada", AssignedTo: "rep@acme.test"}}, Data: map[string]any{"k": "v"}}}
	b, err := json.Marshal(eventArgs{Events: packed[[]leads.Event]{events}})
	require.NoError(t, err)
	var doc map[string]any
	require.NoError(t, json.Unmarshal(b, &doc))
	assert.IsType(t, "", doc["events"], "one string, not a document")

	var back eventArgs
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, events[0].ID, back.Events.V[0].ID)
	assert.Equal(t, "rep@acme.test", back.Events.V[0].Lead.AssignedTo)

	old, err := json.Marshal(map[string]any{"events": events})
	require.NoError(t, err)
	var fromOld eventArgs
	require.NoError(t, json.Unmarshal(old, &fromOld))
	assert.Equal(t, back.Events.V[0].Lead.FirstName, fromOld.Events.V[0].Lead.FirstName)

	var bad eventArgs
	assert.Error(t, json.Unmarshal([]byte(`{"events":"[{"}`), &bad))
}
