// Package specfile reads the YAML files of leadrotor apply (and simulate)
// into a spec.Spec: the YAML goes through JSON, so that the spec's JSON
// field names are the file's keys and an unknown key is refused by name.
// It is the one place the YAML library is used for specs.
package specfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

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
// errors. The YAML goes through JSON so that the
// spec's JSON field names are the file's keys, and an unknown key (a typo)
// is an error that names it instead of being ignored.
func Read(r io.Reader, name string) (spec.Spec, error) {
	var doc any
	if err := yaml.NewDecoder(r).Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return spec.Spec{}, fmt.Errorf("%s: %w", name, err)
	}
	doc = jsonValue(doc)
	if top, ok := doc.(map[string]any); ok {
		// account: 2311 is a YAML number; it means the account "2311".
		if n, ok := top["account"].(int); ok {
			top["account"] = strconv.Itoa(n)
		}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		return spec.Spec{}, fmt.Errorf("%s: %w", name, err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var out spec.Spec
	if err := dec.Decode(&out); err != nil {
		return spec.Spec{}, fmt.Errorf("%s: %s", name, strings.TrimPrefix(err.Error(), "json: "))
	}
	return out, nil
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
