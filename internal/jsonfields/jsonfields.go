// Package jsonfields says which JSON keys a Go struct decodes, as
// encoding/json reads them: for the HTTP API's strict body check and the
// command line's YAML files, which refuse a key no field takes.
package jsonfields

import (
	"reflect"
	"strings"
	"sync"
)

// Of maps the JSON names of t's fields, a struct's, as encoding/json
// spells them (embedded structs' fields promoted, an outer field winning),
// to their types.
func Of(t reflect.Type) map[string]reflect.Type {
	fields := map[string]reflect.Type{}
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				for k, v := range Of(ft) {
					if _, ok := fields[k]; !ok {
						fields[k] = v
					}
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = ft
	}
	return fields
}

// Cache remembers Of's answer for each type it was asked about: what a
// struct decodes never changes while the program runs, and a request body
// check asks for the same few types again and again. The zero value is
// ready; it is safe for concurrent use. Callers must not change the maps
// it returns.
type Cache struct{ m sync.Map }

// Of is the package's Of, computed once per type.
func (c *Cache) Of(t reflect.Type) map[string]reflect.Type {
	if v, ok := c.m.Load(t); ok {
		return v.(map[string]reflect.Type)
	}
	v, _ := c.m.LoadOrStore(t, Of(t))
	return v.(map[string]reflect.Type)
}
