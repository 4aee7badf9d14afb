package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/uptrace/bunrouter"

	"github.com/leadrotor/leadrotor/leads"
)

// Error codes of the HTTP layer, beside those of package leads.
const (
	// CodeInvalidJSON: the body is not one JSON object.
	CodeInvalidJSON = "INVALID_JSON"
	// CodePayloadTooLarge: the body is larger than the server accepts.
	CodePayloadTooLarge = "PAYLOAD_TOO_LARGE"
	// CodeUnsupportedMediaType: the body is declared as something else than JSON.
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	// CodeAccountIDRequired: the x-account-id header is missing.
	CodeAccountIDRequired = "ACCOUNT_ID_REQUIRED"
	// CodeMethodNotAllowed: the path exists but not with this method.
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED"
	// CodeConfirmationRequired: a destructive request lacks ?confirm=true.
	CodeConfirmationRequired = "CONFIRMATION_REQUIRED"
	// CodeRequestTimeout: the client did not send its body in time.
	CodeRequestTimeout = "REQUEST_TIMEOUT"
)

// statusByCode is the one table from error codes to HTTP statuses. A code
// missing here is a bug and answers 500.
var statusByCode = map[string]int{
	leads.CodeValidation:           http.StatusBadRequest,
	leads.CodeTeamRequired:         http.StatusBadRequest,
	leads.CodeTeamNotFound:         http.StatusBadRequest,
	leads.CodeLeadSourceRequired:   http.StatusBadRequest,
	leads.CodeLeadSourceNotFound:   http.StatusBadRequest,
	leads.CodeMemberNotInAccount:   http.StatusBadRequest,
	leads.CodeRotationNotFound:     http.StatusBadRequest,
	leads.CodeNoRotation:           http.StatusConflict,
	leads.CodeNoEligibleMember:     http.StatusConflict,
	leads.CodePreconditionFailed:   http.StatusPreconditionFailed,
	leads.CodeTeamInUse:            http.StatusConflict,
	leads.CodeLeadSourceInUse:      http.StatusConflict,
	leads.CodeLastAdmin:            http.StatusConflict,
	leads.CodeLeadNotAssigned:      http.StatusConflict,
	leads.CodeDuplicateEmail:       http.StatusConflict,
	leads.CodeDuplicateExternalID:  http.StatusConflict,
	leads.CodeConflict:             http.StatusConflict,
	leads.CodeIdempotencyKeyReused: http.StatusUnprocessableEntity,
	leads.CodeNotFound:             http.StatusNotFound,
	leads.CodeUnauthenticated:      http.StatusUnauthorized,
	leads.CodeForbidden:            http.StatusForbidden,
	leads.CodeServiceUnavailable:   http.StatusServiceUnavailable,
	// Not 503, which promises that nothing was stored: the lead may be.
	leads.CodeOutcomeUnknown: http.StatusGatewayTimeout,
	leads.CodeInternal:       http.StatusInternalServerError,
	CodeInvalidJSON:          http.StatusBadRequest,
	CodeAccountIDRequired:    http.StatusBadRequest,
	CodePayloadTooLarge:      http.StatusRequestEntityTooLarge,
	CodeUnsupportedMediaType: http.StatusUnsupportedMediaType,
	CodeMethodNotAllowed:     http.StatusMethodNotAllowed,
	CodeConfirmationRequired: http.StatusBadRequest,
	CodeRequestTimeout:       http.StatusRequestTimeout,
	CodeRateLimited:          http.StatusTooManyRequests,
	CodeTooManyReads:         http.StatusTooManyRequests,
}

// StatusOf returns the HTTP status for err's code.
func StatusOf(err error) int {
	if status, ok := statusByCode[leads.ErrorCode(err)]; ok {
		return status
	}
	return http.StatusInternalServerError
}

// errorBody is the shape of every error response.
type errorBody struct {
	Error   string         `json:"error"`
	Code    string         `json:"code"`
	Details map[string]any `json:"details,omitempty"`
}

// RetryAfterUnavailable is the Retry-After, in seconds, of a 503: about the
// time a restarted database or Redis takes to answer again.
const RetryAfterUnavailable = 2

// statusClientClosed is what the access log shows for a request whose client
// went away before the answer (nginx's 499); nobody reads the answer.
const statusClientClosed = 499

// writeError renders err. Internal errors are logged in full and shown only
// as "internal error" with the request id, so that no cause leaks.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		w.WriteHeader(statusClientClosed)
		return
	}
	status := StatusOf(err)
	body := errorBody{Error: leads.ErrorMessage(err), Code: leads.ErrorCode(err), Details: leads.ErrorDetails(err)}
	if status >= http.StatusInternalServerError {
		id := requestID(r.Context())
		if status == http.StatusServiceUnavailable {
			// An outage, not a bug: the client is told when to retry, and
			// the outage is logged once, not per request.
			w.Header().Set("Retry-After", strconv.Itoa(RetryAfterUnavailable))
			s.outages.failed(r.Context(), id, r.Method, r.URL.Path, err)
		} else {
			s.log.ErrorContext(r.Context(), "request failed", "request_id", id, "method", r.Method, "path", r.URL.Path, "status", status, "err", err)
		}
		body.Details = map[string]any{"requestId": id}
	}
	if status == http.StatusRequestTimeout {
		// The rest of the body may still come: it is not read.
		w.Header().Set("Connection", "close")
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="leadrotor"`)
	}
	writeJSON(w, status, body)
}

// renderErrors is the bunrouter middleware that renders a handler's error.
func (s *Server) renderErrors(next bunrouter.HandlerFunc) bunrouter.HandlerFunc {
	return func(w http.ResponseWriter, req bunrouter.Request) error {
		if err := next(w, req); err != nil {
			s.writeError(w, req.Request, err)
		}
		return nil
	}
}

// notFound answers 404 for a path no route has, and 405 for one a route
// has that bunrouter did not match with another method (see allowed).
func (s *Server) notFound(w http.ResponseWriter, req bunrouter.Request) error {
	if s.allowed(req.Request) != "" {
		return s.methodNotAllowed(w, req)
	}
	return leads.Errorf(leads.CodeNotFound, "no such route")
}

// methodNotAllowed answers 405 with the Allow header that RFC 9110 requires:
// the methods the route serves.
func (s *Server) methodNotAllowed(w http.ResponseWriter, req bunrouter.Request) error {
	w.Header().Set("Allow", s.allowed(req.Request))
	return leads.Errorf(CodeMethodNotAllowed, "method not allowed on this route")
}
