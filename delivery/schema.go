package delivery

import (
	"bytes"
	"errors"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/hookd/hookd/store"
)

// An event type's JSON Schema is compiled when the event type is created or
// changed (to refuse a bad one) and when a publish first needs it; every
// publish, REST or PublishTx, checks its payload with ValidatePayload.

// schemaURL is the base URL of every event type's schema: a name that
// resolves nowhere, so that no reference can lead out of the schema.
const schemaURL = "https://schema.hookd.invalid/event-type.json"

// CompileSchema compiles an event type's JSON Schema (draft 2020-12 unless
// it says otherwise). A schema is self-contained: references inside it
// (#/$defs/x, $anchor, an embedded $id) resolve, and so do the JSON Schema
// meta-schemas, which the library embeds; any other reference (file:,
// http:, anything) is refused and nothing is ever read or fetched.
func CompileSchema(src []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	return c.Compile(schemaURL)
}

// refuseLoader loads nothing: see CompileSchema.
type refuseLoader struct{}

func (refuseLoader) Load(url string) (any, error) {
	return nil, errors.New("a schema may refer only to itself; it cannot load " + url)
}

// ValidatePayload checks payload against sch and lists what breaks it, each
// at a JSON pointer into the payload ("" for the payload itself, like
// /amount).
func ValidatePayload(sch *jsonschema.Schema, payload []byte) []FieldError {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(payload))
	if err != nil {
		return []FieldError{{Field: "", Message: "is not valid JSON"}}
	}
	err = sch.Validate(inst)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []FieldError{{Field: "", Message: err.Error()}}
	}
	var out []FieldError
	for _, u := range ve.BasicOutput().Errors {
		if u.Error == nil {
			continue
		}
		out = append(out, FieldError{Field: u.InstanceLocation, Message: u.Error.String()})
	}
	if len(out) == 0 {
		out = append(out, FieldError{Message: ve.Error()})
	}
	return out
}

// schemaCache keeps each event type's compiled schema with the bytes it
// came from, so that a schema is compiled once per version of its bytes.
type schemaCache struct {
	m sync.Map // event type name -> *compiledSchema
}

type compiledSchema struct {
	src []byte
	sch *jsonschema.Schema
}

// get returns the compiled schema of e (of its latest version).
func (c *schemaCache) get(e store.EventType) (*jsonschema.Schema, error) {
	return c.compiled(e.Name, e.Schema)
}

// compiled returns src compiled, as cached under key (an event type's
// name, or name@version for its other versions).
func (c *schemaCache) compiled(key string, src []byte) (*jsonschema.Schema, error) {
	if v, ok := c.m.Load(key); ok {
		cs := v.(*compiledSchema)
		if bytes.Equal(cs.src, src) {
			return cs.sch, nil
		}
	}
	sch, err := CompileSchema(src)
	if err != nil {
		return nil, err
	}
	c.m.Store(key, &compiledSchema{src: bytes.Clone(src), sch: sch})
	return sch, nil
}
