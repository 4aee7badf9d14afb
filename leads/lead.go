package leads

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Status is where a lead stands in the sales process.
type Status string

// The statuses a lead can have.
const (
	StatusNew       Status = "new"
	StatusContacted Status = "contacted"
	StatusQualified Status = "qualified"
	StatusConverted Status = "converted"
	StatusLost      Status = "lost"
	StatusFollowUp  Status = "follow_up"
)

// Statuses lists every valid status, in the order of a typical sales process.
var Statuses = []Status{StatusNew, StatusContacted, StatusQualified, StatusConverted, StatusLost, StatusFollowUp}

// Valid reports whether s is one of Statuses.
func (s Status) Valid() bool {
	for _, v := range Statuses {
		if s == v {
			return true
		}
	}
	return false
}

// Limits on lead input. They keep one lead small enough that no client can
// make a request expensive for everyone else, and every value storable as is
// in both databases. Text lengths count characters (Unicode code points, as
// JSON Schema's maxLength does), after surrounding white space is trimmed.
const (
	// MaxNameLength bounds firstName and lastName.
	MaxNameLength = 200
	// MaxEmailLength bounds email, assignedTo and createdBy, which hold
	// emails: RFC 5321 allows no longer address.
	MaxEmailLength = 254
	// MaxPhoneLength bounds phone: E.164's 15 digits leave room for spaces,
	// punctuation and an extension.
	MaxPhoneLength = 64
	// MaxShortTextLength bounds the other short text fields: company,
	// jobTitle, branch, source, position, location, productsServicesSold,
	// currentPaymentProcessor, processStage, buyingRole and externalId.
	MaxShortTextLength = 255
	// MaxURLLength bounds imgSrc, as browsers and proxies commonly do.
	MaxURLLength = 2048
	// MaxNotesLength bounds notes.
	MaxNotesLength = 10000
	// MaxMetadataBytes bounds metadata encoded as compact JSON (no HTML
	// escaping), as a client would measure it.
	MaxMetadataBytes = 16384
	// MaxMetadataDepth bounds the nesting of objects and arrays in metadata;
	// the metadata object itself is level 1.
	MaxMetadataDepth = 5
	// MaxMetadataKeys bounds the keys of all objects in metadata together,
	// at every level.
	MaxMetadataKeys = 200
	// MaxMetadataNumberDigits bounds the digits of one metadata number
	// written out without an exponent: 1e400 is 401 digits. Databases store
	// numbers written out, so a short exponent could otherwise grow a few
	// bytes into kilobytes, or past what PostgreSQL can hold.
	MaxMetadataNumberDigits = 40
	// MaxIdempotencyKey bounds the length of an Idempotency-Key.
	MaxIdempotencyKey = 255
	// MaxHotScore bounds hotScore, which runs from 0 (cold) to MaxHotScore.
	MaxHotScore = 100
)

// LeadInput is what a client sends to create a lead: the fields of seed 002's
// LeadInput plus status and metadata. Only FirstName and LastName are required.
// Numbers and booleans are pointers so that 0 and false can be told from absent.
// Every text field is bounded (TextFieldLimits lists the bounds: names
// MaxNameLength, emails MaxEmailLength, phone MaxPhoneLength, imgSrc
// MaxURLLength, notes MaxNotesLength, the rest MaxShortTextLength) and so is
// Metadata (MaxMetadataBytes, MaxMetadataDepth, MaxMetadataKeys,
// MaxMetadataNumberDigits); Validate enforces them. ExternalID is the
// caller's own id of the contact (seed 003's unique id): unique among the
// account's leads whatever its duplicate policy, compared exactly after
// trimming. HotScore is how hot the lead is, from 0 to MaxHotScore (seed
// 004's hotScore).
type LeadInput struct {
	TeamID                   int64          `json:"teamId,omitempty"`
	LeadSourceID             int64          `json:"leadSourceId,omitempty"`
	FirstName                string         `json:"firstName"`
	LastName                 string         `json:"lastName"`
	ImgSrc                   string         `json:"imgSrc,omitempty"`
	Email                    string         `json:"email,omitempty"`
	Phone                    string         `json:"phone,omitempty"`
	Company                  string         `json:"company,omitempty"`
	JobTitle                 string         `json:"jobTitle,omitempty"`
	Branch                   string         `json:"branch,omitempty"`
	Source                   string         `json:"source,omitempty"`
	Position                 string         `json:"position,omitempty"`
	Location                 string         `json:"location,omitempty"`
	ProductsServicesSold     string         `json:"productsServicesSold,omitempty"`
	NumberOfEmployees        *int64         `json:"numberOfEmployees,omitempty"`
	CurrentPaymentProcessor  string         `json:"currentPaymentProcessor,omitempty"`
	MonthlyTransactionVolume *int64         `json:"monthlyTransactionVolume,omitempty"`
	InterestedInSwitching    *bool          `json:"interestedInSwitching,omitempty"`
	ProcessStage             string         `json:"processStage,omitempty"`
	BuyingRole               string         `json:"buyingRole,omitempty"`
	AssignedTo               string         `json:"assignedTo,omitempty"`
	Notes                    string         `json:"notes,omitempty"`
	LastContacted            *time.Time     `json:"lastContacted,omitempty"`
	Archived                 bool           `json:"archived"`
	CreatedBy                string         `json:"createdBy,omitempty"`
	ExternalID               string         `json:"externalId,omitempty"`
	HotScore                 *int64         `json:"hotScore,omitempty"`
	Status                   Status         `json:"status,omitempty"`
	Metadata                 map[string]any `json:"metadata,omitempty"`
}

// Lead is a stored lead: seed 002's Lead, that is the LeadInput it was
// created from (with status and metadata) plus what the engine adds: its id,
// account, application, the rotation that assigned it and timestamps.
// AuditLog is filled by reads that ask for it.
type Lead struct {
	ID            int64  `json:"id"`
	AccountID     string `json:"accountId"`
	ApplicationID string `json:"applicationId,omitempty"`
	LeadInput
	// RotationID is the rotation that chose AssignedTo; 0 when the lead was
	// assigned by hand or not at all.
	RotationID int64 `json:"rotationId,omitempty"`
	// RotationTurn is the rotation's turn number that assigned the lead.
	RotationTurn int64 `json:"rotationTurn,omitempty"`
	// AssignmentStatus says whether the lead has an assignee, has none, or
	// waits for its rotation (see AssignmentPending).
	AssignmentStatus AssignmentStatus `json:"assignmentStatus"`
	// WaitingReason says why a waiting lead waits (see AssignmentWaiting).
	WaitingReason string `json:"waitingReason,omitempty"`
	// AssignedAt is when the lead's current assignment began: it was given
	// to AssignedTo (again, when a turn picked the same member). The store
	// keeps it; a write does not set it.
	AssignedAt *time.Time `json:"assignedAt,omitempty"`
	// AcceptedAt is when the assignee accepted the lead in the current
	// assignment (AcceptLead, or their first activity when the account's
	// ActivityAccepts is on); nil until then. A new assignment clears it.
	AcceptedAt *time.Time `json:"acceptedAt,omitempty"`
	// FirstTouchAt is when the assignee's first completed activity of the
	// current assignment happened; a new assignment clears it.
	FirstTouchAt *time.Time `json:"firstTouchAt,omitempty"`
	// SLADueAt is when the current assignment's time to accept runs out,
	// when a rotation with an SLA made it (see SLA); it stays as it was
	// once the lead is accepted (accepted in time: AcceptedAt before it).
	SLADueAt *time.Time `json:"slaDueAt,omitempty"`
	// LastActivityAt is when the lead's latest completed activity, by
	// anyone, happened.
	LastActivityAt *time.Time   `json:"lastActivityAt,omitempty"`
	CreatedAt      time.Time    `json:"createdAt"`
	UpdatedAt      time.Time    `json:"updatedAt"`
	AuditLog       []AuditEntry `json:"auditLog,omitempty"`
}

// AssignmentStatus says where a lead stands with its assignment.
type AssignmentStatus string

// Assignment statuses.
const (
	// AssignmentAssigned: the lead has an assignee.
	AssignmentAssigned AssignmentStatus = "assigned"
	// AssignmentUnassigned: the lead has no assignee (no rotation applied,
	// nobody was eligible, or it was unassigned by hand).
	AssignmentUnassigned AssignmentStatus = "unassigned"
	// AssignmentPending: the lead was stored while its rotation could not be
	// asked (Redis down); the background assigner (Service.AssignPending)
	// gives it its turn, oldest first, as soon as the rotation answers.
	AssignmentPending AssignmentStatus = "pending"
	// AssignmentWaiting: nobody in the lead's rotation could take it, and
	// the rotation holds such leads (NobodyHold); WaitingReason says why.
	// The background assigner gives it the first turn someone can take,
	// oldest first.
	AssignmentWaiting AssignmentStatus = "waiting"
)

// settledStatus is the status of a lead that is not waiting for its rotation.
func settledStatus(assignee string) AssignmentStatus {
	if assignee == "" {
		return AssignmentUnassigned
	}
	return AssignmentAssigned
}

// FieldError is one broken field rule: the field's JSON name, the value sent
// (shortened when long) and what is wrong with it.
type FieldError struct {
	Field   string `json:"field"`
	Value   any    `json:"value"`
	Message string `json:"message"`
}

// ValidationError returns a VALIDATION_ERROR whose details are the first field
// error's {field, value, message}, plus "errors" listing all of them when there
// are several.
func ValidationError(errs ...FieldError) *Error {
	if len(errs) == 0 {
		return nil
	}
	first := errs[0]
	details := map[string]any{"field": first.Field, "value": first.Value, "message": first.Message}
	if len(errs) > 1 {
		details["errors"] = errs
	}
	return &Error{Code: CodeValidation, Message: "Validation failed", Details: details}
}

// Normalize trims surrounding white space from every text field and fills the
// default status. Validate expects normalized input; Service.CreateLead normalizes.
func (in *LeadInput) Normalize() {
	for _, p := range in.textFields() {
		*p.value = strings.TrimSpace(*p.value)
	}
	if in.Status == "" {
		in.Status = StatusNew
	}
	if in.LastContacted != nil {
		t := in.LastContacted.UTC().Truncate(time.Microsecond)
		in.LastContacted = &t
	}
}

type textField struct {
	name  string
	value *string
	max   int
}

func (in *LeadInput) textFields() []textField {
	return []textField{
		{"firstName", &in.FirstName, MaxNameLength},
		{"lastName", &in.LastName, MaxNameLength},
		{"imgSrc", &in.ImgSrc, MaxURLLength},
		{"email", &in.Email, MaxEmailLength},
		{"phone", &in.Phone, MaxPhoneLength},
		{"company", &in.Company, MaxShortTextLength},
		{"jobTitle", &in.JobTitle, MaxShortTextLength},
		{"branch", &in.Branch, MaxShortTextLength},
		{"source", &in.Source, MaxShortTextLength},
		{"position", &in.Position, MaxShortTextLength},
		{"location", &in.Location, MaxShortTextLength},
		{"productsServicesSold", &in.ProductsServicesSold, MaxShortTextLength},
		{"currentPaymentProcessor", &in.CurrentPaymentProcessor, MaxShortTextLength},
		{"processStage", &in.ProcessStage, MaxShortTextLength},
		{"buyingRole", &in.BuyingRole, MaxShortTextLength},
		{"assignedTo", &in.AssignedTo, MaxEmailLength},
		{"notes", &in.Notes, MaxNotesLength},
		{"createdBy", &in.CreatedBy, MaxEmailLength},
		{"externalId", &in.ExternalID, MaxShortTextLength},
	}
}

// TextFieldLimits returns the most characters each text field of LeadInput
// may hold, by JSON name. Every string field of LeadInput is listed.
func TextFieldLimits() map[string]int {
	var in LeadInput
	fields := in.textFields()
	limits := make(map[string]int, len(fields))
	for _, f := range fields {
		limits[f.name] = f.max
	}
	return limits
}

// Date-times a client sends (lastContacted, the createdAfter and
// createdBefore filters, cursors) must fall in years MinYear to MaxYear in
// UTC: RFC 3339 has four-digit years, JSON encoding fails outside them, and
// PostgreSQL has no year 0.
const (
	// MinYear is the earliest year of a date-time a client may send.
	MinYear = 1
	// MaxYear is the latest year of a date-time a client may send.
	MaxYear = 9999
)

// TimeProblem says what is wrong with a date-time a client sent (outside
// the years MinYear to MaxYear in UTC), or "" when nothing is.
func TimeProblem(t time.Time) string {
	if y := t.UTC().Year(); y < MinYear || y > MaxYear {
		return fmt.Sprintf("Must be a date-time in the years %04d to %d (UTC)", MinYear, MaxYear)
	}
	return ""
}

// hotScoreProblem says what is wrong with a hotScore (or a bound of one in
// a filter), or "" when nothing is.
func hotScoreProblem(score int64) string {
	if score < 0 || score > MaxHotScore {
		return fmt.Sprintf("Must be from 0 to %d", MaxHotScore)
	}
	return ""
}

// textProblem says what is wrong with a text value that may hold at most max
// characters, or "" when nothing is: it must be UTF-8 and hold no NUL, which
// PostgreSQL cannot store.
func textProblem(s string, max int) string {
	switch {
	case !utf8.ValidString(s):
		return "Must be valid UTF-8 text"
	case strings.IndexByte(s, 0) >= 0:
		return "Must not contain NUL characters"
	case utf8.RuneCountInString(s) > max:
		return fmt.Sprintf("Must be at most %d characters", max)
	}
	return ""
}

// checkText returns a VALIDATION_ERROR for field when s is not text of at
// most max characters, or nil.
func checkText(field, s string, max int) error {
	if problem := textProblem(s, max); problem != "" {
		return ValidationError(FieldError{field, shorten(s), problem})
	}
	return nil
}

// Validate checks every field rule of a lead and returns a VALIDATION_ERROR
// naming each broken one, or nil. It does not look at teams, lead sources or
// duplicates: those need the account's state and are Service.CreateLead's job.
func (in *LeadInput) Validate() error {
	var errs []FieldError
	add := func(field string, value any, format string, args ...any) {
		errs = append(errs, FieldError{Field: field, Value: shorten(value), Message: fmt.Sprintf(format, args...)})
	}
	if in.FirstName == "" {
		add("firstName", in.FirstName, "Is required")
	}
	if in.LastName == "" {
		add("lastName", in.LastName, "Is required")
	}
	for _, f := range in.textFields() {
		if problem := textProblem(*f.value, f.max); problem != "" {
			add(f.name, *f.value, "%s", problem)
		}
	}
	if in.Email != "" && !ValidEmail(in.Email) {
		add("email", in.Email, "Must be a valid email address")
	}
	if in.ImgSrc != "" && !validHTTPURL(in.ImgSrc) {
		add("imgSrc", in.ImgSrc, "Must be an http or https URL")
	}
	if in.TeamID < 0 {
		add("teamId", in.TeamID, "Must be a positive integer")
	}
	if in.LeadSourceID < 0 {
		add("leadSourceId", in.LeadSourceID, "Must be a positive integer")
	}
	if in.NumberOfEmployees != nil && *in.NumberOfEmployees < 0 {
		add("numberOfEmployees", *in.NumberOfEmployees, "Must not be negative")
	}
	if in.MonthlyTransactionVolume != nil && *in.MonthlyTransactionVolume < 0 {
		add("monthlyTransactionVolume", *in.MonthlyTransactionVolume, "Must not be negative")
	}
	if in.HotScore != nil {
		if problem := hotScoreProblem(*in.HotScore); problem != "" {
			add("hotScore", *in.HotScore, "%s", problem)
		}
	}
	if in.LastContacted != nil {
		if problem := TimeProblem(*in.LastContacted); problem != "" {
			add("lastContacted", in.LastContacted.Format(time.RFC3339Nano), "%s", problem)
		}
	}
	if in.Status != "" && !in.Status.Valid() {
		add("status", string(in.Status), statusMessage)
	}
	if problem := metadataProblem(in.Metadata); problem != "" {
		add("metadata", nil, "%s", problem)
	}
	if len(errs) == 0 {
		return nil
	}
	return ValidationError(errs...)
}

// ValidEmail reports whether s is a plain email address (local@domain, no
// display name) whose domain has at least one dot.
func ValidEmail(s string) bool {
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" {
		return false
	}
	at := strings.LastIndexByte(s, '@')
	domain := s[at+1:]
	return at > 0 && strings.Contains(domain, ".") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func validHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// ValidateMetadata checks the limits on a metadata object (encoded size,
// depth, number of keys, digits of numbers, no NUL in strings) and returns a
// VALIDATION_ERROR for field "metadata", or nil. A nil map is valid.
func ValidateMetadata(m map[string]any) error {
	if problem := metadataProblem(m); problem != "" {
		return ValidationError(FieldError{Field: "metadata", Message: problem})
	}
	return nil
}

func metadataProblem(m map[string]any) string {
	if m == nil {
		return ""
	}
	raw, err := AppendJSONValue(nil, m, false) // what encoding/json writes, without reflection
	if err != nil {
		return "Must hold only values JSON can encode"
	}
	if len(raw) > MaxMetadataBytes {
		return fmt.Sprintf("Must be at most %d bytes as JSON", MaxMetadataBytes)
	}
	return scanMetadata(raw)
}

// scanMetadata checks depth, keys, numbers and strings of metadata as
// encoding/json wrote it (so valid JSON), in one pass over the bytes: it sees
// exactly what is stored, whatever Go types held the values.
func scanMetadata(raw []byte) string {
	depth, keys := 0, 0
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '"':
			i++
			for ; raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					// encoding/json writes NUL as \u0000; PostgreSQL's jsonb refuses it.
					if bytes.HasPrefix(raw[i+1:], []byte("u0000")) {
						return "Must not contain NUL characters"
					}
					i++
				}
			}
		case c == '{' || c == '[':
			if depth++; depth > MaxMetadataDepth {
				return fmt.Sprintf("Must nest at most %d levels deep", MaxMetadataDepth)
			}
		case c == '}' || c == ']':
			depth--
		case c == ':':
			if keys++; keys > MaxMetadataKeys {
				return fmt.Sprintf("Must have at most %d keys in all", MaxMetadataKeys)
			}
		case c == '-' || ('0' <= c && c <= '9'):
			end := i + 1
			for end < len(raw) && strings.IndexByte("+-.eE0123456789", raw[end]) >= 0 {
				end++
			}
			if plainDigits(string(raw[i:end])) > MaxMetadataNumberDigits {
				return fmt.Sprintf("Must hold numbers of at most %d digits written out", MaxMetadataNumberDigits)
			}
			i = end - 1
		}
	}
	return ""
}

// plainDigits returns how many digits the JSON number num has when written
// out without an exponent (1.5e3 is 1500: 4), or math.MaxInt when its
// exponent is absurd.
func plainDigits(num string) int {
	mantissa, exp, _ := strings.Cut(strings.ToLower(strings.TrimPrefix(num, "-")), "e")
	whole, frac, _ := strings.Cut(mantissa, ".")
	e := 0
	if exp != "" {
		n, err := strconv.Atoi(exp)
		if err != nil || n > 1<<20 || n < -1<<20 {
			return math.MaxInt
		}
		e = n
	}
	return max(len(whole)+e, 1) + max(len(frac)-e, 0)
}

// shorten keeps error details small when a client sends a huge value.
func shorten(v any) any {
	s, ok := v.(string)
	if !ok || len(s) <= 100 {
		return v
	}
	cut := 100
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// MinPhoneDigits is the fewest digits of a phone that a returning contact
// is recognised by: fewer is no number ("0", "n/a", "-").
const MinPhoneDigits = 5

// phoneSeparators are what people write between a phone number's digits.
const phoneSeparators = " +-.()/"

// PhoneKey returns the form of a phone that a returning contact is
// recognised by: its digits alone when it is written with digits and the
// separators of phone numbers (" +-.()/") alone, so that
// "+1 (415) 555-0100", "1.415.555.0100" and "14155550100" are one number;
// the phone as written when it holds anything else ("555-0100 ext. 12");
// "" (no key) when it has fewer than MinPhoneDigits digits. A number
// written without its country code is another key: the country it is of is
// not known. The store's migration 000023 computes the same keys in SQL
// for the leads stored before it.
func PhoneKey(phone string) string {
	phone = strings.TrimSpace(phone)
	digits, other := 0, false
	for i := 0; i < len(phone); i++ {
		switch c := phone[i]; {
		case '0' <= c && c <= '9':
			digits++
		case strings.IndexByte(phoneSeparators, c) < 0:
			other = true
		}
	}
	if digits < MinPhoneDigits {
		return ""
	}
	if other {
		return phone
	}
	key := make([]byte, 0, digits)
	for i := 0; i < len(phone); i++ {
		if c := phone[i]; '0' <= c && c <= '9' {
			key = append(key, c)
		}
	}
	return string(key)
}

// EmailKey returns the form of an email that duplicates are compared by.
func EmailKey(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// statusMessage is the refusal of a value that is not a Status.
const statusMessage = "Must be one of new, contacted, qualified, converted, lost, follow_up"

// fingerprint identifies a create request, so that an Idempotency-Key sent
// again with another body, or as another kind of request (a dry run, an
// upsert), is told apart from a true retry. A plain create's fingerprint
// is what it was before dry runs and upserts counted (omitempty), so that
// its retries across an upgrade still replay.
func fingerprint(in LeadInput, opts CreateOptions) string {
	raw, _ := json.Marshal(struct {
		Input   LeadInput `json:"input"`
		Skip    bool      `json:"skip"`
		DryRun  bool      `json:"dryRun,omitempty"`
		MatchBy string    `json:"matchBy,omitempty"`
	}{in, opts.SkipTeamAndSourceRequirement, opts.DryRun, opts.MatchBy})
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:])
}

// newLead builds the lead that input describes, before it is stored.
func newLead(accountID string, in LeadInput, now time.Time) Lead {
	return Lead{AccountID: accountID, LeadInput: in, AssignmentStatus: settledStatus(in.AssignedTo), CreatedAt: now, UpdatedAt: now}
}
