package openapi_test

import (
	"context"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
)

// descriptionPath is the description, from this package's directory.
const descriptionPath = "../../docs/openapi.yaml"

// loadDescription loads and validates the description.
func loadDescription(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(descriptionPath)
	if err != nil {
		t.Fatalf("load %s: %v", descriptionPath, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI description: %v", descriptionPath, err)
	}
	return doc
}

func TestDescriptionIsValid(t *testing.T) {
	t.Parallel()
	loadDescription(t)
}

// TestDescriptionIsReadyForClientGenerators checks what generated clients
// depend on: every operation has a unique operationId, every body's schema
// is a named one under components/schemas, and every JSON error answer is
// the Error schema.
func TestDescriptionIsReadyForClientGenerators(t *testing.T) {
	t.Parallel()
	doc := loadDescription(t)
	ids := map[string]string{}
	named := func(where string, ref *openapi3.SchemaRef) {
		if ref == nil {
			return
		}
		if !strings.HasPrefix(ref.Ref, "#/components/schemas/") {
			t.Errorf("%s: the schema is inline; name it under components/schemas", where)
		}
	}
	for _, op := range operations(doc) {
		method, path, _ := strings.Cut(op, " ")
		o := doc.Paths.Value(path).GetOperation(method)
		switch {
		case o.OperationID == "":
			t.Errorf("%s has no operationId", op)
		case ids[o.OperationID] != "":
			t.Errorf("%s and %s share the operationId %s", ids[o.OperationID], op, o.OperationID)
		default:
			ids[o.OperationID] = op
		}
		if o.RequestBody != nil {
			for mt, media := range o.RequestBody.Value.Content {
				named(op+" request "+mt, media.Schema)
			}
		}
		for status, resp := range o.Responses.Map() {
			for mt, media := range resp.Value.Content {
				named(op+" "+status+" "+mt, media.Schema)
				// /readyz answers not ready in its own shape, with the reason.
				isError := status >= "400" && op+" "+status != "GET /readyz 503"
				if isError && mt == "application/json" && media.Schema.Ref != "#/components/schemas/Error" {
					t.Errorf("%s %s: an error answer's body is %s, not the Error schema", op, status, media.Schema.Ref)
				}
			}
		}
	}
}
