package render

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// refusingLoader refuses every external $ref: a schema in a prompt file may
// refer only to itself, never to files or URLs.
type refusingLoader struct{}

func (refusingLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("external schema references are not allowed: %s", url)
}

// schemaURL names the schema being compiled; it is never loaded.
const schemaURL = "promptreg:///input_schema.json"

// CompileSchema compiles a JSON Schema given as JSON. Schemas without
// $schema are read as draft 2020-12; external references are refused.
func CompileSchema(schemaJSON []byte) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(schemaJSON))
	if err != nil {
		return nil, fmt.Errorf("not JSON: %w", err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refusingLoader{})
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, schemaError(err)
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		return nil, schemaError(err)
	}
	return sch, nil
}

// schemaError words a schema that does not compile. The library lists a
// schema's faults against the metaschema in map order; they are sorted, so
// that a file always gets the same message (parsing is deterministic: lint
// output and the problems of /v1/status do not change from sync to sync).
func schemaError(err error) error {
	var sve *jsonschema.SchemaValidationError
	var ve *jsonschema.ValidationError
	if errors.As(err, &sve) && errors.As(sve.Err, &ve) {
		return fmt.Errorf("not a valid JSON Schema: %s", strings.Join(schemaProblems(ve), "; "))
	}
	return err
}
