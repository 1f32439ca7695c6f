package httpapi

import (
	"fmt"
	"math"
	"net/url"
	"strconv"

	"github.com/google/uuid"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

// queryParams reads a request's query parameters, refusing the malformed and
// naming the parameter in every refusal. A parameter given twice counts by its
// first value; one given empty is malformed.
type queryParams struct {
	values url.Values
}

func parseQuery(raw string) (queryParams, error) {
	v, err := url.ParseQuery(raw)
	if err != nil {
		return queryParams{}, wire.BadRequest("malformed query string")
	}
	return queryParams{values: v}, nil
}

// int64In returns the parameter as an integer within [lo, hi], or def when
// it is absent.
func (q queryParams) int64In(name string, lo, hi, def int64) (int64, error) {
	vals, ok := q.values[name]
	if !ok {
		return def, nil
	}
	n, err := strconv.ParseInt(vals[0], 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, wire.BadRequest(rangeMessage(name, lo, hi))
	}
	return n, nil
}

// intIn is int64In for page sizes.
func (q queryParams) intIn(name string, lo, hi, def int) (int, error) {
	n, err := q.int64In(name, int64(lo), int64(hi), int64(def))
	return int(n), err
}

// boolean returns the parameter as true or false (also 1/0, t/f), or false
// when it is absent.
func (q queryParams) boolean(name string) (bool, error) {
	vals, ok := q.values[name]
	if !ok {
		return false, nil
	}
	b, err := strconv.ParseBool(vals[0])
	if err != nil {
		return false, wire.BadRequest(name + " must be true or false")
	}
	return b, nil
}

// uuid returns the parameter as a UUID in its canonical form (lower case,
// with hyphens), or "" when it is absent.
func (q queryParams) uuid(name string) (string, error) {
	vals, ok := q.values[name]
	if !ok {
		return "", nil
	}
	id, err := uuid.Parse(vals[0])
	if err != nil {
		return "", wire.BadRequest(name + " must be a message id (a UUID)")
	}
	return id.String(), nil
}

func rangeMessage(name string, lo, hi int64) string {
	if hi == math.MaxInt64 {
		return fmt.Sprintf("%s must be an integer >= %d", name, lo)
	}
	return fmt.Sprintf("%s must be an integer from %d to %d", name, lo, hi)
}

// parsePosition reads a global log position given as text (the feed's after
// parameter or Last-Event-ID header).
func parsePosition(name, s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return 0, wire.BadRequest(rangeMessage(name, 0, math.MaxInt64))
	}
	return n, nil
}
