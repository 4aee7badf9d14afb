// Package specfile reads the YAML files of leadrotor apply (and simulate)
// into a spec.Spec, and other YAML files of the command line (leadrotor
// route test's cases) into their types: the YAML goes through JSON, so
// that the JSON field names are the file's keys and an unknown key is
// refused by name and path. It is the one place the YAML library is used
// for these files.
package specfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/leadrotor/leadrotor/internal/jsonfields"
	"github.com/leadrotor/leadrotor/leads"
	"github.com/leadrotor/leadrotor/leads/spec"
)

// ReadFile reads the spec in the YAML file named name, or in stdin when
// name is "-".
func ReadFile(stdin io.Reader, name string) (spec.Spec, error) {
	if name == "-" {
		return Read(stdin, "standard input")
	}
	f, err := os.Open(name)
	if err != nil {
		return spec.Spec{}, fmt.Errorf("read spec: %w", err)
	}
	defer func() { _ = f.Close() }()
	return Read(f, name)
}

// Read decodes a YAML spec (a file of leadrotor apply), naming name in its
// errors (see Decode).
func Read(r io.Reader, name string) (spec.Spec, error) {
	var out spec.Spec
	if err := Decode(r, name, &out); err != nil {
		return spec.Spec{}, err
	}
	return out, nil
}

// Decode decodes the YAML document of r into v, a pointer to a value with
// JSON field names (YAML is a superset of JSON: a JSON document is read
// too), naming name in its errors. The YAML goes through JSON so that the
// JSON field names are the file's keys, and a key v has no field for (a
// typo) is an error that names it and where it is instead of being
// ignored: "name: cases[2].expect: unknown field "rotaton"". A value of
// the wrong kind is named by its path as well. A top-level account that
// YAML reads as a number (account: 2311) is its text.
func Decode(r io.Reader, name string, v any) error {
	var doc any
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("%s: %w", name, err)
	}
	doc = jsonValue(doc)
	if top, ok := doc.(map[string]any); ok {
		// account: 2311 is a YAML number; it means the account "2311".
		if n, ok := top["account"].(int); ok {
			top["account"] = strconv.Itoa(n)
		}
	}
	if err := checkKeys(doc, reflect.TypeOf(v).Elem(), ""); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

var (
	unmarshalerType = reflect.TypeFor[json.Unmarshaler]()
	timeType        = reflect.TypeFor[time.Time]()
)

// checkKeys refuses, naming its path, the first key of doc (a document as
// jsonValue returns it, at path) that t, the type it decodes into, has no
// field for, and the first value that does not decode into its field. It
// reads keys as encoding/json does (case-insensitively, through embedded
// structs); a value of a type that decodes itself is left to it.
func checkKeys(doc any, t reflect.Type, path string) error {
	if doc == nil {
		return nil // null decodes into anything
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	self := t == timeType || reflect.PointerTo(t).Implements(unmarshalerType)
	m, isMap := doc.(map[string]any)
	list, isList := doc.([]any)
	switch {
	case self:
	case t.Kind() == reflect.Struct && !isMap:
		return fmt.Errorf("%smust be %s, not %s", at(path), leads.JSONTypeName(t), valueWords(doc))
	case t.Kind() == reflect.Struct:
		fields := jsonfields.Of(t)
		for _, key := range slices.Sorted(maps.Keys(m)) {
			ft, ok := fields[key]
			if !ok {
				// encoding/json takes a key of another case too.
				if name := foldedKey(fields, key); name != "" {
					ft, ok = fields[name], true
				}
			}
			if !ok {
				return fmt.Errorf("%sunknown field %q", at(path), key)
			}
			if err := checkKeys(m[key], ft, join(path, key)); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Slice && isList:
		for i, e := range list {
			if err := checkKeys(e, t.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && isMap:
		for _, key := range slices.Sorted(maps.Keys(m)) {
			if err := checkKeys(m[key], t.Elem(), join(path, key)); err != nil {
				return err
			}
		}
		return nil
	case t.Kind() == reflect.Interface:
		return nil
	}
	// A value of its own: does it decode into t?
	raw, err := json.Marshal(doc)
	if err == nil {
		err = json.Unmarshal(raw, reflect.New(t).Interface())
	}
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case t == timeType:
		return fmt.Errorf("%smust be %s, such as 2026-11-02T09:00:00Z", at(path), leads.JSONTypeName(t))
	case !self && errors.As(err, &typeErr) && typeErr.Field == "":
		return fmt.Errorf("%smust be %s, not %s", at(path), leads.JSONTypeName(t), valueWords(doc))
	}
	return fmt.Errorf("%s%s", at(path), strings.TrimPrefix(err.Error(), "json: "))
}

// valueWords says what kind of JSON value v, a document's value, is.
func valueWords(v any) string {
	switch v.(type) {
	case string, time.Time:
		return "a string"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "a number"
}

// foldedKey is the name of fields that is key but for case, "" when none
// is (the first in order, as one of them must be chosen).
func foldedKey(fields map[string]reflect.Type, key string) string {
	for _, name := range slices.Sorted(maps.Keys(fields)) {
		if strings.EqualFold(name, key) {
			return name
		}
	}
	return ""
}

// join is the path of key under path.
func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// at begins an error about the value at path: "path: ", nothing for the
// document itself.
func at(path string) string {
	if path == "" {
		return ""
	}
	return path + ": "
}

// jsonValue returns v with every map keyed by strings, as JSON needs; YAML
// allows other keys (1: x), which become their text.
func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonValue(e)
		}
		return v
	case map[any]any:
		out := make(map[string]any, len(v))
		for k, e := range v {
			out[fmt.Sprint(k)] = jsonValue(e)
		}
		return out
	case []any:
		for i, e := range v {
			v[i] = jsonValue(e)
		}
		return v
	}
	return v
}
