package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"unicode/utf8"

	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// decodeBody reads the request body, at most MaxBodyBytes, as one JSON object
// into dst. Unknown fields are ignored (clients may send more than this
// version knows). A body over the limit is too_large; an empty body, malformed
// JSON, invalid UTF-8, a value that is not an object, a field of the wrong type
// and anything after the object are bad_request.
func (a *API) decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return &wire.Error{Code: wire.CodeTooLarge, Message: fmt.Sprintf("request body is larger than %d bytes", tooLarge.Limit)}
	case err != nil:
		// The client broke off or sent a body shorter than it announced.
		return wire.BadRequest("the request body could not be read in full")
	}
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
		return wire.BadRequest("request body is empty: send a JSON object")
	case body[0] != '{':
		return wire.BadRequest("request body must be a JSON object")
	case !utf8.Valid(body):
		// encoding/json would silently turn invalid bytes into U+FFFD and
		// store something the client never sent.
		return wire.BadRequest("request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(dst); err != nil {
		return wire.BadRequest(jsonProblem(err))
	}
	if dec.InputOffset() != int64(len(body)) {
		return wire.BadRequest("request body holds data after the JSON object")
	}
	return nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d", syntax.Offset)
	case errors.As(err, &typ) && typ.Field != "":
		return fmt.Sprintf("field %q: want %s, got a JSON %s", typ.Field, jsonTypeName(typ.Type.String()), typ.Value)
	case errors.As(err, &typ):
		return fmt.Sprintf("request body must be a JSON object, not a JSON %s", typ.Value)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "malformed JSON: the body ends too early"
	default:
		return "malformed JSON"
	}
}

// jsonTypeName names a Go type of the request structs as JSON.
func jsonTypeName(goType string) string {
	switch goType {
	case "string":
		return "a string"
	case "[]string":
		return "a list of strings"
	default:
		return "another type"
	}
}
