package openapi_test

import (
	"os"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/tellyou/tellyou/cmd/tellyou/servertest"
)

// binary is the tellyou binary under test, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	// kin-openapi decodes JSON, form and plain text bodies by itself; the
	// web client's files and the event stream are text too.
	for _, contentType := range []string{"text/html", "text/css", "text/javascript", "image/svg+xml", "text/event-stream", "application/openmetrics-text"} {
		openapi3filter.RegisterBodyDecoder(contentType, openapi3filter.PlainBodyDecoder)
	}
	os.Exit(servertest.Main(m, &binary, raceEnabled))
}
