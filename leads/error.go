package leads

import (
	"context"
	"errors"
	"fmt"
)

// Error codes. They are part of the public contract: HTTP clients and Go callers
// branch on them, so a code, once published, never changes meaning.
const (
	// CodeValidation reports input that breaks a field rule; details name the field.
	CodeValidation = "VALIDATION_ERROR"
	// CodeTeamRequired: the account has teams and the lead names none.
	CodeTeamRequired = "TEAM_REQUIRED"
	// CodeTeamNotFound: the named team is not one of the account's.
	CodeTeamNotFound = "TEAM_NOT_FOUND"
	// CodeLeadSourceRequired: the team has lead sources and the lead names none.
	CodeLeadSourceRequired = "LEAD_SOURCE_REQUIRED"
	// CodeLeadSourceNotFound: the named lead source is not one of the team's.
	CodeLeadSourceNotFound = "LEAD_SOURCE_NOT_FOUND"
	// CodeDuplicateEmail: another live lead of the account has the same email.
	CodeDuplicateEmail = "DUPLICATE_EMAIL"
	// CodeDuplicateExternalID: another live lead of the account has the same
	// externalId.
	CodeDuplicateExternalID = "DUPLICATE_EXTERNAL_ID"
	// CodeNotFound: the object does not exist or belongs to another account.
	CodeNotFound = "NOT_FOUND"
	// CodeConflict: the change breaks a uniqueness rule (a second default rotation…).
	CodeConflict = "CONFLICT"
	// CodeIdempotencyKeyReused: an Idempotency-Key was sent again with another body.
	CodeIdempotencyKeyReused = "IDEMPOTENCY_KEY_REUSED"
	// CodeUnauthenticated: no API key, or one that is unknown or revoked.
	CodeUnauthenticated = "UNAUTHENTICATED"
	// CodeForbidden: the caller is not a member of the account or its role is too low.
	CodeForbidden = "FORBIDDEN"
	// CodeMemberNotInAccount: a rotation names a user who is not a member of the account.
	CodeMemberNotInAccount = "MEMBER_NOT_IN_ACCOUNT"
	// CodePreconditionFailed: If-Match named a version of the lead that is no
	// longer the current one; someone else changed it meanwhile.
	CodePreconditionFailed = "PRECONDITION_FAILED"
	// CodeRotationNotFound: the named rotation is not one of the account's.
	CodeRotationNotFound = "ROTATION_NOT_FOUND"
	// CodeNoRotation: no rotation applies to the lead.
	CodeNoRotation = "NO_ROTATION"
	// CodeNoEligibleMember: nobody in the rotation can take a lead now and it
	// has no fallback assignee.
	CodeNoEligibleMember = "NO_ELIGIBLE_MEMBER"
	// CodeTeamInUse: the team still has leads; deleting it with force
	// detaches them.
	CodeTeamInUse = "TEAM_IN_USE"
	// CodeLeadSourceInUse: the lead source still has leads; deleting it with
	// force detaches them.
	CodeLeadSourceInUse = "LEAD_SOURCE_IN_USE"
	// CodeLastAdmin: the change would leave the account without an admin.
	CodeLastAdmin = "LAST_ADMIN"
	// CodeLeadNotAssigned: the lead has no assignee, so nobody can accept
	// it.
	CodeLeadNotAssigned = "LEAD_NOT_ASSIGNED"
	// CodeServiceUnavailable: a backing service (database, Redis) cannot be reached.
	CodeServiceUnavailable = "SERVICE_UNAVAILABLE"
	// CodeOutcomeUnknown: the database stopped answering while it committed
	// the lead, so whether it was stored is not known yet. Unlike
	// SERVICE_UNAVAILABLE, which means "nothing was stored", the lead may
	// exist: details.leadId names it; retry with the same Idempotency-Key or
	// read the lead. Its rotation turn is settled either way.
	CodeOutcomeUnknown = "OUTCOME_UNKNOWN"
	// CodeInternal: anything unexpected; the cause is logged, never shown.
	CodeInternal = "INTERNAL"
)

// Error is a domain error: a stable machine-readable Code, a human Message and
// optional Details (for validation errors: field, value and message).
// Err, when set, is the underlying cause; it is never shown to API clients.
type Error struct {
	Code    string
	Message string
	Details map[string]any
	Err     error
}

// Error returns the code and message, then the broken field of a validation
// error, then the cause when there is one.
func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if field, ok := e.Details["field"].(string); ok {
		s += fmt.Sprintf(": %s: %v", field, e.Details["message"])
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with the given code and a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the code of the first *Error in err's chain, "" for a nil
// err, CodeServiceUnavailable for an error that IsUnavailable, and
// CodeInternal for any other error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if IsUnavailable(err) {
		return CodeServiceUnavailable
	}
	return CodeInternal
}

// ErrorMessage returns the human message of the first *Error in err's chain,
// a generic one for an error that IsUnavailable, or "internal error" for any
// other error, so that causes are never leaked.
func ErrorMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	if IsUnavailable(err) {
		return unavailableMessage
	}
	return "internal error"
}

const unavailableMessage = "a service leadrotor depends on is unavailable; retry later"

// IsUnavailable reports whether err means that a backing service (the
// database, Redis) could not be reached or did not answer in time, as
// opposed to refusing the request: a SERVICE_UNAVAILABLE *Error, which the
// adapters (store, rotation) make of their drivers' errors, or a deadline
// exceeded. Such a request may succeed when retried later; the HTTP API
// answers it 503 with Retry-After.
func IsUnavailable(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code == CodeServiceUnavailable
	}
	return errors.Is(err, context.DeadlineExceeded)
}

// Unavailable returns a SERVICE_UNAVAILABLE error naming what is unavailable,
// with err as its cause.
func Unavailable(what string, err error) *Error {
	return &Error{Code: CodeServiceUnavailable, Message: what + " is unavailable; retry later", Err: err}
}

// ErrorDetails returns the details of the first *Error in err's chain, or nil.
func ErrorDetails(err error) map[string]any {
	var e *Error
	if errors.As(err, &e) {
		return e.Details
	}
	return nil
}

// MemberNotInAccount returns the MEMBER_NOT_IN_ACCOUNT error for user, with
// the field that names it in the details (none when field is "").
func MemberNotInAccount(user, field string) *Error {
	details := map[string]any{"user": user}
	if field != "" {
		details["field"] = field
	}
	return &Error{Code: CodeMemberNotInAccount, Message: fmt.Sprintf("%s is not a member of this account", user), Details: details}
}

// notFound returns a NOT_FOUND error for the named kind of object.
func notFound(kind string) *Error {
	return Errorf(CodeNotFound, "%s not found", kind)
}

// NamedKind is a kind of object whose name no other of its kind in the
// account (a lead source: in the team) may have; its value is the message
// of NameTaken, with the name's place.
type NamedKind string

// The kinds of objects with unique names.
const (
	KindTeam            NamedKind = "a team named %q already exists"
	KindLeadSource      NamedKind = "the team has a lead source named %q already"
	KindRotation        NamedKind = "a rotation named %q already exists"
	KindRoutingRule     NamedKind = "a routing rule named %q already exists"
	KindHolidayCalendar NamedKind = "a holiday calendar named %q already exists"
)

// NameTaken is the CONFLICT of a name that another object of kind already
// has: the message says so, the details name the field and the value, as
// a VALIDATION_ERROR's do. The Service (checking a draft) and the store
// (a unique index refusing a write) answer it alike.
func NameTaken(kind NamedKind, name string) error {
	return &Error{Code: CodeConflict, Message: fmt.Sprintf(string(kind), name), Details: map[string]any{"field": "name", "value": name}}
}
