package leads

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Conditions are what a routing rule asks of a lead: structured, so that a
// form can edit them, and checked when saved, so that evaluating them never
// fails. A Condition is either a test of one field ({field, op, value}) or a
// group: all of its conditions hold (All), or any of them (Any).
//
// Fields are the lead's (its JSON names: firstName, email, status,
// numberOfEmployees, lastContacted…), derived ones (emailDomain: the part of
// the email after its @), and metadata paths (metadata.utm.campaign).
// Text compares without regard to case; numbers as numbers; times as
// instants (RFC 3339 values); a metadata value by its JSON type, against a
// value of the same type. An absent field (text "", a number or time not
// given, a metadata path not there) fails every op but not_exists and neq
// and not_in.

// Condition limits.
const (
	// MaxConditions is how many field tests one rule may hold, in all its groups.
	MaxConditions = 20
	// MaxConditionDepth is how deep groups may nest.
	MaxConditionDepth = 4
	// MaxConditionValues bounds the list of an in or not_in.
	MaxConditionValues = 200
	// MaxPatternLength bounds a matches op's regular expression. Go's
	// regular expressions run in time linear in their input, and inputs are
	// bounded fields: a pattern cannot make evaluation slow.
	MaxPatternLength = 256
)

// Op is a condition's comparison.
type Op string

// The ops.
const (
	OpEq         Op = "eq"
	OpNeq        Op = "neq"
	OpIn         Op = "in"
	OpNotIn      Op = "not_in"
	OpContains   Op = "contains"
	OpStartsWith Op = "starts_with"
	OpEndsWith   Op = "ends_with"
	OpGt         Op = "gt"
	OpGte        Op = "gte"
	OpLt         Op = "lt"
	OpLte        Op = "lte"
	OpExists     Op = "exists"
	OpNotExists  Op = "not_exists"
	OpMatches    Op = "matches"
)

// Condition is a test of one field, or a group of conditions.
type Condition struct {
	Field string `json:"field,omitempty"`
	Op    Op     `json:"op,omitempty"`
	// Value is a string, a number, a boolean or (for in and not_in) a
	// list of them, as the field's kind takes; none for exists and
	// not_exists.
	Value any         `json:"value,omitempty"`
	All   []Condition `json:"all,omitempty"`
	Any   []Condition `json:"any,omitempty"`
}

// fieldKind is what values a field holds, and so which ops fit it.
type fieldKind int

const (
	kindText fieldKind = iota
	kindNumber
	kindBool
	kindTime
	kindAny // a metadata path: the value's own JSON type decides
)

func (k fieldKind) String() string {
	return [...]string{"text", "number", "boolean", "time", "metadata"}[k]
}

// ops lists the ops that fit each kind.
var kindOps = map[fieldKind][]Op{
	kindText:   {OpEq, OpNeq, OpIn, OpNotIn, OpContains, OpStartsWith, OpEndsWith, OpExists, OpNotExists, OpMatches},
	kindNumber: {OpEq, OpNeq, OpIn, OpNotIn, OpGt, OpGte, OpLt, OpLte, OpExists, OpNotExists},
	kindBool:   {OpEq, OpNeq, OpExists, OpNotExists},
	kindTime:   {OpGt, OpGte, OpLt, OpLte, OpExists, OpNotExists},
	kindAny: {OpEq, OpNeq, OpIn, OpNotIn, OpContains, OpStartsWith, OpEndsWith, OpGt, OpGte, OpLt, OpLte,
		OpExists, OpNotExists, OpMatches},
}

// fieldValue is a field's value in a lead: ok false when absent.
type fieldValue struct {
	text string
	num  float64
	flag bool
	at   time.Time
	kind fieldKind
	ok   bool
}

// conditionField is a field conditions may name.
type conditionField struct {
	kind fieldKind
	get  func(l *Lead) fieldValue
}

func textCondField(get func(l *Lead) string) conditionField {
	return conditionField{kindText, func(l *Lead) fieldValue {
		s := get(l)
		return fieldValue{text: s, kind: kindText, ok: s != ""}
	}}
}

func intCondField(get func(l *Lead) *int64) conditionField {
	return conditionField{kindNumber, func(l *Lead) fieldValue {
		if p := get(l); p != nil {
			return fieldValue{num: float64(*p), kind: kindNumber, ok: true}
		}
		return fieldValue{kind: kindNumber}
	}}
}

func idCondField(get func(l *Lead) int64) conditionField {
	return conditionField{kindNumber, func(l *Lead) fieldValue {
		id := get(l)
		return fieldValue{num: float64(id), kind: kindNumber, ok: id != 0}
	}}
}

// conditionFields are the fields conditions may name, by their JSON names.
// A new lead field is one line here.
var conditionFields = map[string]conditionField{
	"teamId":                   idCondField(func(l *Lead) int64 { return l.TeamID }),
	"leadSourceId":             idCondField(func(l *Lead) int64 { return l.LeadSourceID }),
	"applicationId":            textCondField(func(l *Lead) string { return l.ApplicationID }),
	"firstName":                textCondField(func(l *Lead) string { return l.FirstName }),
	"lastName":                 textCondField(func(l *Lead) string { return l.LastName }),
	"imgSrc":                   textCondField(func(l *Lead) string { return l.ImgSrc }),
	"email":                    textCondField(func(l *Lead) string { return l.Email }),
	"emailDomain":              textCondField(func(l *Lead) string { return emailDomain(l.Email) }),
	"phone":                    textCondField(func(l *Lead) string { return l.Phone }),
	"company":                  textCondField(func(l *Lead) string { return l.Company }),
	"jobTitle":                 textCondField(func(l *Lead) string { return l.JobTitle }),
	"branch":                   textCondField(func(l *Lead) string { return l.Branch }),
	"source":                   textCondField(func(l *Lead) string { return l.Source }),
	"position":                 textCondField(func(l *Lead) string { return l.Position }),
	"location":                 textCondField(func(l *Lead) string { return l.Location }),
	"productsServicesSold":     textCondField(func(l *Lead) string { return l.ProductsServicesSold }),
	"numberOfEmployees":        intCondField(func(l *Lead) *int64 { return l.NumberOfEmployees }),
	"currentPaymentProcessor":  textCondField(func(l *Lead) string { return l.CurrentPaymentProcessor }),
	"monthlyTransactionVolume": intCondField(func(l *Lead) *int64 { return l.MonthlyTransactionVolume }),
	"interestedInSwitching": {kindBool, func(l *Lead) fieldValue {
		if l.InterestedInSwitching != nil {
			return fieldValue{flag: *l.InterestedInSwitching, kind: kindBool, ok: true}
		}
		return fieldValue{kind: kindBool}
	}},
	"processStage": textCondField(func(l *Lead) string { return l.ProcessStage }),
	"buyingRole":   textCondField(func(l *Lead) string { return l.BuyingRole }),
	"assignedTo":   textCondField(func(l *Lead) string { return l.AssignedTo }),
	"notes":        textCondField(func(l *Lead) string { return l.Notes }),
	"lastContacted": {kindTime, func(l *Lead) fieldValue {
		if l.LastContacted != nil {
			return fieldValue{at: *l.LastContacted, kind: kindTime, ok: true}
		}
		return fieldValue{kind: kindTime}
	}},
	"archived": {kindBool, func(l *Lead) fieldValue {
		return fieldValue{flag: l.Archived, kind: kindBool, ok: true}
	}},
	"createdBy":  textCondField(func(l *Lead) string { return l.CreatedBy }),
	"externalId": textCondField(func(l *Lead) string { return l.ExternalID }),
	"hotScore":   intCondField(func(l *Lead) *int64 { return l.HotScore }),
	"status":     textCondField(func(l *Lead) string { return string(l.Status) }),
}

// conditionFieldIndex numbers the fields, so that a LeadView keeps each
// one's value in a slice.
var conditionFieldIndex = func() map[string]int {
	idx := make(map[string]int, len(conditionFields))
	for i, name := range ConditionFields() {
		idx[name] = i
	}
	return idx
}()

// ConditionFields lists the fields conditions may name (metadata paths
// besides), sorted: what a form offers.
func ConditionFields() []string {
	out := make([]string, 0, len(conditionFields))
	for name := range conditionFields {
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}

// emailDomain is the lower-cased part of an email after its last @.
func emailDomain(email string) string {
	if i := strings.LastIndexByte(email, '@'); i >= 0 {
		return strings.ToLower(email[i+1:])
	}
	return ""
}

// metadataPrefix starts a metadata path.
const metadataPrefix = "metadata."

// Matcher is a compiled Condition: checked, its values converted, its
// patterns compiled, so that matching a lead allocates nothing but what a
// metadata path's value needs and never fails.
type Matcher struct {
	root matcherNode
	// texts holds each condition's words by its path, for ConditionAt.
	texts map[string]string
}

// ConditionAt returns the condition at path (as Match reports it) as a
// person reads it: emailDomain in ["acme.com"], any(…).
func (m *Matcher) ConditionAt(path string) string { return m.texts[path] }

type matcherNode struct {
	path string
	// field is the index of a lead field (conditionFieldIndex), or -1 for
	// a metadata path, whose keys are meta and whose name is metaPath.
	field    int
	meta     []string
	metaPath string
	// A group: all or any of children.
	group    bool
	any      bool
	children []matcherNode
	// A test.
	op      Op
	text    string
	texts   map[string]bool
	num     float64
	nums    map[float64]bool
	flag    bool
	at      time.Time
	pattern *regexp.Regexp
	// value holds the raw value of a metadata test, whose kind is the
	// value's: kindText, kindNumber or kindBool.
	valueKind fieldKind
}

// CompileCondition checks c and compiles it. Refusals are VALIDATION_ERROR
// naming the condition by its path from the rule's conditions (all[1].any[0])
// under field prefix ("conditions" when empty).
func CompileCondition(c Condition, prefix string) (*Matcher, error) {
	if prefix == "" {
		prefix = "conditions"
	}
	count := 0
	root, err := compileNode(c, prefix, 1, &count)
	if err != nil {
		return nil, err
	}
	m := &Matcher{root: root, texts: map[string]string{}}
	m.describe(c, prefix)
	return m, nil
}

// describe records the words of c and of its conditions by their paths.
func (m *Matcher) describe(c Condition, path string) {
	kids, name := c.All, "all"
	if c.Any != nil {
		kids, name = c.Any, "any"
	}
	if kids == nil {
		m.texts[path] = c.String()
		return
	}
	m.texts[path+"."+name] = c.String()
	for i, k := range kids {
		m.describe(k, fmt.Sprintf("%s.%s[%d]", path, name, i))
	}
}

func compileNode(c Condition, path string, depth int, count *int) (matcherNode, error) {
	isGroup := c.All != nil || c.Any != nil
	switch {
	case isGroup && (c.Field != "" || c.Op != "" || c.Value != nil):
		return matcherNode{}, condError(path, c, "Is either a group (all or any) or a test of one field (field, op, value), not both")
	case c.All != nil && c.Any != nil:
		return matcherNode{}, condError(path, c, "Is all of its conditions or any of them: one group at a time")
	case isGroup:
		if depth > MaxConditionDepth {
			return matcherNode{}, condError(path, c, fmt.Sprintf("Groups nest at most %d deep", MaxConditionDepth))
		}
		kids, name := c.All, "all"
		if c.Any != nil {
			kids, name = c.Any, "any"
		}
		if len(kids) == 0 {
			return matcherNode{}, condError(path+"."+name, c, "Must hold at least one condition")
		}
		n := matcherNode{path: path + "." + name, group: true, any: c.Any != nil}
		for i, k := range kids {
			child, err := compileNode(k, fmt.Sprintf("%s.%s[%d]", path, name, i), depth+1, count)
			if err != nil {
				return matcherNode{}, err
			}
			n.children = append(n.children, child)
		}
		return n, nil
	}
	*count++
	if *count > MaxConditions {
		return matcherNode{}, condError(path, c, fmt.Sprintf("A rule holds at most %d conditions", MaxConditions))
	}
	return compileTest(c, path)
}

// condError is a refusal of the condition at path, showing the part
// refused: the field's name, the op or the value, by path's last step.
func condError(path string, c Condition, msg string) error {
	var v any
	switch {
	case strings.HasSuffix(path, ".op"):
		v = string(c.Op)
	case strings.HasSuffix(path, ".value"):
		v = c.Value
	case c.Field != "":
		v = c.Field
	}
	return ValidationError(FieldError{path, v, msg})
}

func compileTest(c Condition, path string) (matcherNode, error) {
	n := matcherNode{path: path, op: c.Op, field: -1}
	kind := kindAny
	switch f, ok := conditionFields[c.Field]; {
	case ok:
		kind, n.field = f.kind, conditionFieldIndex[c.Field]
	case strings.HasPrefix(c.Field, metadataPrefix) && len(c.Field) > len(metadataPrefix) && len(c.Field) <= MaxShortTextLength:
		keys := strings.Split(c.Field[len(metadataPrefix):], ".")
		if slices.Contains(keys, "") {
			return n, condError(path+".field", c, "Is a metadata path with an empty key")
		}
		n.meta, n.metaPath = keys, c.Field
	case c.Field == "":
		return n, condError(path+".field", c, "Is required")
	default:
		return n, condError(path+".field", c, "Is not a field a condition may name: a lead field, emailDomain, or metadata.<path>")
	}
	if !slices.Contains(kindOps[kind], c.Op) {
		return n, condError(path+".op", c, fmt.Sprintf("Must be one of %s for a %s field", opList(kindOps[kind]), kind))
	}
	switch c.Op {
	case OpExists, OpNotExists:
		if c.Value != nil {
			return n, condError(path+".value", c, "Takes no value with "+string(c.Op))
		}
		return n, nil
	case OpIn, OpNotIn:
		list, ok := c.Value.([]any)
		if !ok || len(list) == 0 || len(list) > MaxConditionValues {
			return n, condError(path+".value", c, fmt.Sprintf("Must be a list of 1 to %d values", MaxConditionValues))
		}
		for _, v := range list {
			if err := n.addListValue(kind, v); err != nil {
				return n, condError(path+".value", c, err.Error())
			}
		}
		return n, nil
	case OpMatches:
		s, ok := c.Value.(string)
		if !ok || s == "" || len(s) > MaxPatternLength {
			return n, condError(path+".value", c, fmt.Sprintf("Must be a regular expression of 1 to %d characters", MaxPatternLength))
		}
		re, err := regexp.Compile("(?i)" + s)
		if err != nil {
			return n, condError(path+".value", c, "Is not a regular expression: "+err.Error())
		}
		n.pattern, n.valueKind = re, kindText
		return n, nil
	}
	if err := n.setValue(kind, c.Op, c.Value); err != nil {
		return n, condError(path+".value", c, err.Error())
	}
	return n, nil
}

// checkStatusValues refuses, in c (a condition that compiles, at path), a
// test of status against a value no lead can have (eq, neq, in, not_in,
// in any case): such a rule would never, or always, match. It is checked
// when a rule's conditions are written, not when stored rules are
// compiled, so that a rule saved before the check still routes.
func checkStatusValues(c Condition, path string) error {
	kids, name := c.All, "all"
	if c.Any != nil {
		kids, name = c.Any, "any"
	}
	for i, k := range kids {
		if err := checkStatusValues(k, fmt.Sprintf("%s.%s[%d]", path, name, i)); err != nil {
			return err
		}
	}
	if c.Field != "status" || (c.Op != OpEq && c.Op != OpNeq && c.Op != OpIn && c.Op != OpNotIn) {
		return nil
	}
	values := []any{c.Value}
	if list, ok := c.Value.([]any); ok {
		values = list
	}
	for _, v := range values {
		if s, _ := v.(string); !Status(strings.ToLower(s)).Valid() {
			return condError(path+".value", c, fmt.Sprintf("%s (%v is none)", statusMessage, v))
		}
	}
	return nil
}

func opList(ops []Op) string {
	s := make([]string, len(ops))
	for i, o := range ops {
		s[i] = string(o)
	}
	return strings.Join(s, ", ")
}

// number reads a JSON number (float64 or json.Number) or a Go integer.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// setValue converts the value of a comparison op for a field of kind.
func (n *matcherNode) setValue(kind fieldKind, op Op, v any) error {
	textOp := op == OpContains || op == OpStartsWith || op == OpEndsWith
	orderOp := op == OpGt || op == OpGte || op == OpLt || op == OpLte
	switch kind {
	case kindText:
		s, ok := v.(string)
		if !ok || len(s) > MaxShortTextLength || (textOp && s == "") {
			return fmt.Errorf("must be a text of 1 to %d characters", MaxShortTextLength)
		}
		n.text, n.valueKind = strings.ToLower(s), kindText
	case kindNumber:
		f, ok := number(v)
		if !ok {
			return fmt.Errorf("must be a number")
		}
		n.num, n.valueKind = f, kindNumber
	case kindBool:
		b, ok := v.(bool)
		if !ok {
			return fmt.Errorf("must be true or false")
		}
		n.flag, n.valueKind = b, kindBool
	case kindTime:
		s, _ := v.(string)
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return fmt.Errorf("must be a time in RFC 3339 form, like 2026-12-31T00:00:00Z")
		}
		n.at, n.valueKind = t, kindTime
	case kindAny:
		// A metadata path: the value's type says how it compares.
		want := ""
		switch x := v.(type) {
		case string:
			if orderOp {
				want = "a number"
			}
			n.text, n.valueKind = strings.ToLower(x), kindText
			if len(x) > MaxShortTextLength || (textOp && x == "") {
				return fmt.Errorf("must be a text of 1 to %d characters", MaxShortTextLength)
			}
		case bool:
			if textOp || orderOp {
				want = map[bool]string{true: "a text", false: "a number"}[textOp]
			}
			n.flag, n.valueKind = x, kindBool
		default:
			f, ok := number(v)
			if !ok {
				return fmt.Errorf("must be a text, a number, or true or false")
			}
			if textOp {
				want = "a text"
			}
			n.num, n.valueKind = f, kindNumber
		}
		if want != "" {
			return fmt.Errorf("must be %s with %s", want, op)
		}
	}
	return nil
}

// addListValue adds one value of an in or not_in list.
func (n *matcherNode) addListValue(kind fieldKind, v any) error {
	if s, ok := v.(string); ok && (kind == kindText || kind == kindAny) && len(s) <= MaxShortTextLength {
		if n.texts == nil {
			n.texts = map[string]bool{}
		}
		n.texts[strings.ToLower(s)] = true
		return nil
	}
	if f, ok := number(v); ok && (kind == kindNumber || kind == kindAny) {
		if n.nums == nil {
			n.nums = map[float64]bool{}
		}
		n.nums[f] = true
		return nil
	}
	if kind == kindNumber {
		return fmt.Errorf("must be a list of numbers")
	}
	return fmt.Errorf("must be a list of texts%s", map[bool]string{true: " or numbers", false: ""}[kind == kindAny])
}

// metadataValue follows keys into metadata; a value that is an object or
// a list is present but compares to nothing.
func metadataValue(m map[string]any, keys []string) fieldValue {
	var cur any = m
	for _, k := range keys {
		obj, ok := cur.(map[string]any)
		if !ok {
			return fieldValue{kind: kindAny}
		}
		if cur, ok = obj[k]; !ok {
			return fieldValue{kind: kindAny}
		}
	}
	switch x := cur.(type) {
	case nil:
		return fieldValue{kind: kindAny}
	case string:
		return fieldValue{text: strings.ToLower(x), kind: kindText, ok: true}
	case bool:
		return fieldValue{flag: x, kind: kindBool, ok: true}
	default:
		if f, ok := number(x); ok {
			return fieldValue{num: f, kind: kindNumber, ok: true}
		}
		return fieldValue{kind: kindAny, ok: true}
	}
}

// LeadView is a lead as conditions read it: each field's value is worked
// out (lower-cased, parsed) once, however many rules ask for it. It is not
// safe for concurrent use; make one per lead.
type LeadView struct {
	lead *Lead
	// seen holds the fields worked out so far: rules read a few of the
	// lead's fields, and a slot for each would be 2 KB a lead.
	seen []seenField
	meta map[string]fieldValue
}

// seenField is a field's value, by the field's index.
type seenField struct {
	field int
	value fieldValue
}

// NewLeadView returns the view of l that Match reads.
func NewLeadView(l *Lead) *LeadView {
	return &LeadView{lead: l}
}

// value is the value a test reads.
func (v *LeadView) value(n *matcherNode) fieldValue {
	if n.field < 0 {
		if fv, ok := v.meta[n.metaPath]; ok {
			return fv
		}
		fv := metadataValue(v.lead.Metadata, n.meta)
		if v.meta == nil {
			v.meta = map[string]fieldValue{}
		}
		v.meta[n.metaPath] = fv
		return fv
	}
	for i := range v.seen {
		if v.seen[i].field == n.field {
			return v.seen[i].value
		}
	}
	fv := fieldGetters[n.field](v.lead)
	if fv.kind == kindText {
		fv.text = strings.ToLower(fv.text)
	}
	v.seen = append(v.seen, seenField{n.field, fv})
	return fv
}

// fieldGetters are the fields' getters by their index.
var fieldGetters = func() []func(l *Lead) fieldValue {
	out := make([]func(l *Lead) fieldValue, len(conditionFields))
	for name, f := range conditionFields {
		out[conditionFieldIndex[name]] = f.get
	}
	return out
}()

// Match reports whether the lead of v meets the condition; when it does
// not, failed is the path of the first condition that decided it (the
// first failing test of an all, or the any group none of whose conditions
// held).
func (m *Matcher) Match(v *LeadView) (ok bool, failed string) {
	return m.root.match(v)
}

func (n *matcherNode) match(v *LeadView) (bool, string) {
	if !n.group {
		if n.test(v.value(n)) {
			return true, ""
		}
		return false, n.path
	}
	for i := range n.children {
		ok, failed := n.children[i].match(v)
		if n.any && ok {
			return true, ""
		}
		if !n.any && !ok {
			return false, failed
		}
	}
	if n.any {
		return false, n.path
	}
	return true, ""
}

// test applies the node's op to a field's value.
func (n *matcherNode) test(v fieldValue) bool {
	switch n.op {
	case OpExists:
		return v.ok
	case OpNotExists:
		return !v.ok
	case OpNeq:
		return !v.ok || !n.equal(v)
	case OpNotIn:
		return !v.ok || !n.inList(v)
	}
	if !v.ok {
		return false
	}
	switch n.op {
	case OpEq:
		return n.equal(v)
	case OpIn:
		return n.inList(v)
	case OpMatches:
		return v.kind == kindText && n.pattern.MatchString(v.text)
	case OpContains, OpStartsWith, OpEndsWith:
		if v.kind != kindText {
			return false
		}
		// Both sides are lower-cased already.
		switch n.op {
		case OpContains:
			return strings.Contains(v.text, n.text)
		case OpStartsWith:
			return strings.HasPrefix(v.text, n.text)
		}
		return strings.HasSuffix(v.text, n.text)
	}
	// Order ops.
	var c int
	switch {
	case v.kind == kindNumber && n.valueKind == kindNumber:
		c = cmpFloat(v.num, n.num)
	case v.kind == kindTime && n.valueKind == kindTime:
		c = v.at.Compare(n.at)
	default:
		return false
	}
	switch n.op {
	case OpGt:
		return c > 0
	case OpGte:
		return c >= 0
	case OpLt:
		return c < 0
	}
	return c <= 0
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// equal compares a present value with the node's, by kind.
func (n *matcherNode) equal(v fieldValue) bool {
	if v.kind != n.valueKind {
		return false
	}
	switch v.kind {
	case kindText:
		return v.text == n.text
	case kindNumber:
		return v.num == n.num
	case kindBool:
		return v.flag == n.flag
	}
	return false
}

// inList reports whether a present value is one of the node's list.
func (n *matcherNode) inList(v fieldValue) bool {
	switch v.kind {
	case kindText:
		return n.texts[v.text]
	case kindNumber:
		return n.nums[v.num]
	}
	return false
}

// String writes a condition as a person reads it, for decisions and logs:
// email ends_with "@acme.com", all(...), any(...).
func (c Condition) String() string {
	switch {
	case c.All != nil || c.Any != nil:
		kids, name := c.All, "all"
		if c.Any != nil {
			kids, name = c.Any, "any"
		}
		parts := make([]string, len(kids))
		for i, k := range kids {
			parts[i] = k.String()
		}
		return name + "(" + strings.Join(parts, ", ") + ")"
	case c.Op == OpExists || c.Op == OpNotExists:
		return c.Field + " " + string(c.Op)
	}
	v, err := json.Marshal(c.Value)
	if err != nil {
		v = []byte(strconv.Quote(fmt.Sprint(c.Value)))
	}
	return c.Field + " " + string(c.Op) + " " + string(v)
}
