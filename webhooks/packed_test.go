package webhooks

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/leadrotor/leadrotor/leads"
)

// A job's events are kept as one JSON string of base64 (one entry of
// river's GIN index on args, nothing to escape), and read back from it or
// from the forms of jobs written before: the JSON text as a string, the
// document.
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

	assert.NotContains(t, doc["events"], `"`, "base64: no quote to escape")

	inner, err := json.Marshal(events)
	require.NoError(t, err)
	asString, err := json.Marshal(map[string]any{"events": string(inner)})
	require.NoError(t, err)
	asDocument, err := json.Marshal(map[string]any{"events": events})
	require.NoError(t, err)
	for name, old := range map[string][]byte{"JSON text in a string": asString, "document": asDocument} {
		var fromOld eventArgs
		require.NoError(t, json.Unmarshal(old, &fromOld), "a job written before, %s", name)
		assert.Equal(t, back.Events.V, fromOld.Events.V, "a job written before, %s", name)
	}
	var none eventArgs
	require.NoError(t, json.Unmarshal([]byte(`{"events":"null"}`), &none))
	assert.Nil(t, none.Events.V)

	var bad eventArgs
	assert.Error(t, json.Unmarshal([]byte(`{"events":"[{"}`), &bad))
	assert.Error(t, json.Unmarshal([]byte(`{"events":"not base64!"}`), &bad))
}
