// Package domain holds TellYou's business rules for a session (conversation):
// the session aggregate as state rebuilt from its event stream, and pure
// decision functions from state and command to events or an error.
//
// Nothing here does I/O, reads the clock or draws random numbers: the caller
// passes the current time and fresh ids in commands. A decision never changes
// the state it is given; the caller appends the decided events to the stream
// and then applies them (Session.Apply), exactly as a replay would.
//
// Errors are *Error values whose Kind the transport maps to a wire code
// (KindInvalid -> bad_request, KindNotFound -> not_found, KindForbidden ->
// forbidden, KindConflict -> conflict, KindTooLarge -> too_large); match them with errors.Is against
// ErrInvalid, ErrNotFound, ErrForbidden, ErrConflict, ErrTooLarge or ErrUnknownMessage.
package domain
