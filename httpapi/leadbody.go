package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"sync"
	"time"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/leadrotor/leadrotor/leads"
)

// A create's body, the hottest one, read in one pass. decodeJSON reads a
// body twice: encoding/json decodes it (by reflection), then checkExact
// walks it again for what encoding/json lets through (keys that match only
// case-insensitively, duplicate keys, text that is not UTF-8). For a lead
// whose body is as it should be, decodeLeadInput does both at once with
// jsontext, whose decoder refuses duplicate names and invalid UTF-8 by
// itself, and knows LeadInput's fields by their exact names. It gives up
// on anything else (an unknown or differently spelled key, an escaped key,
// a value of another type, a number that is not an integer where one is
// due, trailing data, a body that is not JSON), and decodeJSON then reads
// the body as before, for the error it owes. What it decodes is what
// encoding/json decodes (FuzzLeadBodyAgrees).

// decodeLeadInput decodes body into in, which must be zero, and reports
// whether it could; when it could not, in is zero again.
func decodeLeadInput(body []byte, in *leads.LeadInput) bool {
	d := leadDecoders.Get().(*leadDecoder)
	defer func() {
		d.body.Reset(nil)
		d.dec.Reset(&d.body) // lets go of body's text
		if len(body) <= maxPooledLeadBody {
			leadDecoders.Put(d) // not the buffer a large body grew
		}
	}()
	d.body.Reset(body)
	d.dec.Reset(&d.body)
	if d.lead(in) {
		return true
	}
	*in = leads.LeadInput{}
	return false
}

// leadDecoder reads a body; kept between bodies (leadDecoders), as a
// jsontext decoder's state and buffer are most of what a read allocates.
type leadDecoder struct {
	dec  *jsontext.Decoder
	body bytes.Reader
}

// maxPooledLeadBody is the largest body whose decoder is kept.
const maxPooledLeadBody = 64 << 10

var leadDecoders = sync.Pool{New: func() any {
	d := &leadDecoder{}
	d.dec = jsontext.NewDecoder(&d.body)
	return d
}}

// errGiveUp stops the one-pass read of a body it does not take.
var errGiveUp = errors.New("not the one-pass body")

func (d *leadDecoder) lead(in *leads.LeadInput) bool {
	if tok, err := d.dec.ReadToken(); err != nil || tok.Kind() != '{' {
		return false
	}
	for d.dec.PeekKind() == '"' {
		raw, err := d.dec.ReadValue()
		if err != nil || bytes.IndexByte(raw, '\\') >= 0 {
			return false
		}
		if err := d.field(in, raw[1:len(raw)-1]); err != nil {
			return false
		}
	}
	if tok, err := d.dec.ReadToken(); err != nil || tok.Kind() != '}' {
		return false
	}
	_, err := d.dec.ReadToken()
	return err == io.EOF // one value, nothing after it
}

// field reads the value of in's field of JSON name key.
func (d *leadDecoder) field(in *leads.LeadInput, key []byte) error {
	switch string(key) {
	case "teamId":
		return into(d, &in.TeamID, d.integer)
	case "leadSourceId":
		return into(d, &in.LeadSourceID, d.integer)
	case "firstName":
		return d.string(&in.FirstName)
	case "lastName":
		return d.string(&in.LastName)
	case "imgSrc":
		return d.string(&in.ImgSrc)
	case "email":
		return d.string(&in.Email)
	case "phone":
		return d.string(&in.Phone)
	case "company":
		return d.string(&in.Company)
	case "jobTitle":
		return d.string(&in.JobTitle)
	case "branch":
		return d.string(&in.Branch)
	case "source":
		return d.string(&in.Source)
	case "position":
		return d.string(&in.Position)
	case "location":
		return d.string(&in.Location)
	case "productsServicesSold":
		return d.string(&in.ProductsServicesSold)
	case "numberOfEmployees":
		return intoPtr(d, &in.NumberOfEmployees, d.integer)
	case "currentPaymentProcessor":
		return d.string(&in.CurrentPaymentProcessor)
	case "monthlyTransactionVolume":
		return intoPtr(d, &in.MonthlyTransactionVolume, d.integer)
	case "interestedInSwitching":
		return intoPtr(d, &in.InterestedInSwitching, d.boolean)
	case "processStage":
		return d.string(&in.ProcessStage)
	case "buyingRole":
		return d.string(&in.BuyingRole)
	case "assignedTo":
		return d.string(&in.AssignedTo)
	case "notes":
		return d.string(&in.Notes)
	case "lastContacted":
		return d.timePtr(&in.LastContacted)
	case "archived":
		return into(d, &in.Archived, d.boolean)
	case "createdBy":
		return d.string(&in.CreatedBy)
	case "externalId":
		return d.string(&in.ExternalID)
	case "hotScore":
		return intoPtr(d, &in.HotScore, d.integer)
	case "status":
		return d.string((*string)(&in.Status))
	case "metadata":
		return d.metadata(&in.Metadata)
	}
	return errGiveUp
}

// null reads a null, which encoding/json skips for a value and turns into
// nil for a pointer or a map, and reports whether there was one.
func (d *leadDecoder) null() (bool, error) {
	if d.dec.PeekKind() != 'n' {
		return false, nil
	}
	_, err := d.dec.ReadToken()
	return true, err
}

func (d *leadDecoder) string(dst *string) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	if d.dec.PeekKind() != '"' {
		return errGiveUp
	}
	tok, err := d.dec.ReadToken()
	if err != nil {
		return err
	}
	*dst = tok.String()
	return nil
}

// integer reads a number that encoding/json reads into an int64: written
// as an integer, within range.
func (d *leadDecoder) integer() (int64, error) {
	if d.dec.PeekKind() != '0' {
		return 0, errGiveUp
	}
	raw, err := d.dec.ReadValue()
	if err != nil {
		return 0, err
	}
	return strconv.ParseInt(string(raw), 10, 64)
}

// into reads a value by read into dst; a null leaves dst as it is.
func into[T any](d *leadDecoder, dst *T, read func() (T, error)) error {
	if null, err := d.null(); null || err != nil {
		return err
	}
	v, err := read()
	*dst = v
	return err
}

// intoPtr reads a value by read into a new *dst; a null sets it nil.
func intoPtr[T any](d *leadDecoder, dst **T, read func() (T, error)) error {
	if null, err := d.null(); null || err != nil {
		*dst = nil
		return err
	}
	v, err := read()
	*dst = &v
	return err
}

// boolean reads true or false.
func (d *leadDecoder) boolean() (bool, error) {
	if k := d.dec.PeekKind(); k != 't' && k != 'f' {
		return false, errGiveUp
	}
	tok, err := d.dec.ReadToken()
	if err != nil {
		return false, err
	}
	return tok.Bool(), nil
}

// timePtr reads a time as encoding/json does: its quoted text, as written,
// to time.Time's UnmarshalJSON.
func (d *leadDecoder) timePtr(dst **time.Time) error {
	if null, err := d.null(); null || err != nil {
		*dst = nil
		return err
	}
	if d.dec.PeekKind() != '"' {
		return errGiveUp
	}
	raw, err := d.dec.ReadValue()
	if err != nil {
		return err
	}
	t := new(time.Time)
	if err := t.UnmarshalJSON(raw); err != nil {
		return err
	}
	*dst = t
	return nil
}

func (d *leadDecoder) metadata(dst *map[string]any) error {
	if null, err := d.null(); null || err != nil {
		*dst = nil
		return err
	}
	if d.dec.PeekKind() != '{' {
		return errGiveUp
	}
	v, err := d.value()
	if err != nil {
		return err
	}
	*dst = v.(map[string]any)
	return nil
}

// value reads any value as encoding/json does into an interface with
// UseNumber: objects as maps, arrays as slices, numbers as json.Number.
func (d *leadDecoder) value() (any, error) {
	switch d.dec.PeekKind() {
	case '{':
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, err
		}
		m := map[string]any{}
		for d.dec.PeekKind() == '"' {
			tok, err := d.dec.ReadToken()
			if err != nil {
				return nil, err
			}
			key := tok.String() // before the next read voids tok
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			m[key] = v
		}
		_, err := d.dec.ReadToken() // } (or the error that is there)
		return m, err
	case '[':
		if _, err := d.dec.ReadToken(); err != nil {
			return nil, err
		}
		a := []any{}
		for k := d.dec.PeekKind(); k != ']' && k != 0; k = d.dec.PeekKind() {
			v, err := d.value()
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := d.dec.ReadToken() // ]
		return a, err
	case '0':
		raw, err := d.dec.ReadValue()
		return json.Number(raw), err
	case '"':
		tok, err := d.dec.ReadToken()
		if err != nil {
			return nil, err
		}
		return tok.String(), nil
	case 't', 'f':
		return d.boolean()
	case 'n':
		_, err := d.dec.ReadToken()
		return nil, err
	}
	return nil, errGiveUp
}
