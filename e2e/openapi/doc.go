// Package openapi checks docs/openapi.yaml, the description of every HTTP
// route of `tellyou serve`, against the server itself: its tests build and
// start the real binary on a fresh database, drive every route, error answers
// included, and validate each request and answer against the description with
// kin-openapi, so that the description cannot drift from the code.
package openapi
