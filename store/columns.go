package store

import (
	"fmt"
	"strings"
	"unsafe"

	"github.com/leadrotor/leadrotor/leads"
)

// The columns the create path writes, each named once. The hand-written
// statements of that path (the PostgreSQL insert of one lead and of a batch,
// SQLite's prepared insert) and their arguments are all derived from these
// tables, in their order. Adding a column to leads is: the migrations, the
// field of leads.Lead and of leadRow, and one line in leadColumns.
// TestColumnTablesMatchTheSchema holds the tables, the rows' bun tags and
// the migrated schema equal on both dialects.

// column is one column of table R's rows that the create path writes.
type column[R any] struct {
	name string
	// sqlType is the PostgreSQL type of the column: the batch insert sends
	// each column as an array of it (jsonb as text, cast back).
	sqlType string
	// value returns the column's value in a row, as a driver argument. An
	// error as the value means the row cannot be encoded (a JSON column).
	value func(r *R) any
}

// leadColumns are the columns of a new lead, every column of leads but id.
var leadColumns = []column[leadRow]{
	{"account_id", "text", func(r *leadRow) any { return r.AccountID }},
	{"team_id", "int8", func(r *leadRow) any { return nullInt(r.TeamID) }},
	{"lead_source_id", "int8", func(r *leadRow) any { return nullInt(r.LeadSourceID) }},
	{"application_id", "text", func(r *leadRow) any { return r.ApplicationID }},
	{"first_name", "text", func(r *leadRow) any { return r.FirstName }},
	{"last_name", "text", func(r *leadRow) any { return r.LastName }},
	{"img_src", "text", func(r *leadRow) any { return r.ImgSrc }},
	{"email", "text", func(r *leadRow) any { return r.Email }},
	{"phone", "text", func(r *leadRow) any { return r.Phone }},
	{"company", "text", func(r *leadRow) any { return r.Company }},
	{"job_title", "text", func(r *leadRow) any { return r.JobTitle }},
	{"branch", "text", func(r *leadRow) any { return r.Branch }},
	{"source", "text", func(r *leadRow) any { return r.Source }},
	{"position", "text", func(r *leadRow) any { return r.Position }},
	{"location", "text", func(r *leadRow) any { return r.Location }},
	{"products_services_sold", "text", func(r *leadRow) any { return r.ProductsServicesSold }},
	{"number_of_employees", "int8", func(r *leadRow) any { return r.NumberOfEmployees }},
	{"current_payment_processor", "text", func(r *leadRow) any { return r.CurrentPaymentProcessor }},
	{"monthly_transaction_volume", "int8", func(r *leadRow) any { return r.MonthlyTransactionVolume }},
	{"interested_in_switching", "bool", func(r *leadRow) any { return r.InterestedInSwitching }},
	{"process_stage", "text", func(r *leadRow) any { return r.ProcessStage }},
	{"buying_role", "text", func(r *leadRow) any { return r.BuyingRole }},
	{"assigned_to", "text", func(r *leadRow) any { return r.AssignedTo }},
	{"notes", "text", func(r *leadRow) any { return r.Notes }},
	{"last_contacted", "timestamptz", func(r *leadRow) any { return r.LastContacted }},
	{"archived", "bool", func(r *leadRow) any { return r.Archived }},
	{"created_by", "text", func(r *leadRow) any { return r.CreatedBy }},
	{"external_id", "text", func(r *leadRow) any { return nullString(r.ExternalID) }},
	{"hot_score", "int8", func(r *leadRow) any { return r.HotScore }},
	{"status", "text", func(r *leadRow) any { return r.Status }},
	{"metadata", "jsonb", func(r *leadRow) any { return jsonArg(r.Metadata, r.Metadata == nil) }},
	{"rotation_id", "int8", func(r *leadRow) any { return nullInt(r.RotationID) }},
	{"rotation_turn", "int8", func(r *leadRow) any { return r.RotationTurn }},
	{"assigned_at", "timestamptz", func(r *leadRow) any { return r.AssignedAt }},
	{"accepted_at", "timestamptz", func(r *leadRow) any { return r.AcceptedAt }},
	{"first_touch_at", "timestamptz", func(r *leadRow) any { return r.FirstTouchAt }},
	{"last_activity_at", "timestamptz", func(r *leadRow) any { return r.LastActivityAt }},
	{"sla_due_at", "timestamptz", func(r *leadRow) any { return r.SLADueAt }},
	{"email_norm", "text", func(r *leadRow) any { return nullString(r.EmailNorm) }},
	{"phone_key", "text", func(r *leadRow) any { return r.PhoneKey }},
	{"email_unique", "text", func(r *leadRow) any { return nullString(r.EmailUnique) }},
	{"idempotency_key", "text", func(r *leadRow) any { return nullString(r.IdempotencyKey) }},
	{"idempotency_fingerprint", "text", func(r *leadRow) any { return r.IdempotencyFingerprint }},
	{"created_at", "timestamptz", func(r *leadRow) any { return r.CreatedAt }},
	{"updated_at", "timestamptz", func(r *leadRow) any { return r.UpdatedAt }},
	{"assignment_pending", "bool", func(r *leadRow) any { return r.AssignmentPending }},
	{"waiting_reason", "text", func(r *leadRow) any { return r.WaitingReason }},
}

// auditColumns are the columns of a new audit entry but lead_id, which the
// statements take from the new lead: every column of audit_log but id.
var auditColumns = []column[auditRow]{
	{"account_id", "text", func(r *auditRow) any { return r.AccountID }},
	{"event", "text", func(r *auditRow) any { return r.Event }},
	{"user_email", "text", func(r *auditRow) any { return r.UserEmail }},
	{"api_key", "text", func(r *auditRow) any { return r.APIKey }},
	{"data", "jsonb", func(r *auditRow) any { return jsonArg(r.Data, false) }},
	{"request_method", "text", func(r *auditRow) any { return r.RequestMethod }},
	{"request_path", "text", func(r *auditRow) any { return r.RequestPath }},
	{"request_headers", "jsonb", func(r *auditRow) any { return jsonArg(r.RequestHeaders, r.RequestHeaders == nil) }},
	{"request_ip", "text", func(r *auditRow) any { return r.RequestIP }},
	{"created_at", "timestamptz", func(r *auditRow) any { return r.CreatedAt }},
}

// jsonArg returns v as JSON text, nil (SQL NULL) when null is set, or the
// encoding's error.
func jsonArg(v any, null bool) any {
	if null {
		return nil
	}
	// json.Marshal's bytes, without reflection for maps, in one buffer
	// large enough for most (grown from nil, it was reallocated at every
	// doubling) that becomes the string (no copy: nothing else holds it).
	raw, err := leads.AppendJSONValue(make([]byte, 0, jsonArgSize), v, true)
	if err != nil {
		return err
	}
	if len(raw) == 0 {
		return ""
	}
	return unsafe.String(&raw[0], len(raw))
}

// jsonArgSize is the room jsonArg's buffer starts with: more than an audit
// entry's data or request headers take in leadbench's load.
const jsonArgSize = 512

// columnArgs returns row's values of cols, in their order.
func columnArgs[R any](cols []column[R], row *R) ([]any, error) {
	args := make([]any, len(cols))
	for i, c := range cols {
		v := c.value(row)
		if err, ok := v.(error); ok {
			return nil, fmt.Errorf("encode %s: %w", c.name, err)
		}
		args[i] = v
	}
	return args, nil
}

// columnNames returns the names of cols joined by ", ", each after prefix.
func columnNames[R any](cols []column[R], prefix string) string {
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = prefix + c.name
	}
	return strings.Join(names, ", ")
}
