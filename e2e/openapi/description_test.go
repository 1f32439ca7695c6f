package openapi_test

import (
	"context"
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
