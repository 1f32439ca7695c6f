package domain

// ErrorKind classifies a refused command. The transport maps each kind to one
// wire error code and HTTP status.
type ErrorKind int

const (
	// KindInvalid: the command is malformed or breaks a rule (bad_request, 400).
	KindInvalid ErrorKind = iota + 1
	// KindNotFound: the session or message does not exist (not_found, 404).
	KindNotFound
	// KindForbidden: the user may not do this (forbidden, 403).
	KindForbidden
	// KindConflict: the command clashes with the current state (conflict, 409).
	KindConflict
	// KindTooLarge: content or ext over its size limit (too_large, 413).
	KindTooLarge
)

// String names the kind in words.
func (k ErrorKind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not found"
	case KindForbidden:
		return "forbidden"
	case KindConflict:
		return "conflict"
	case KindTooLarge:
		return "too large"
	default:
		return "unknown error kind"
	}
}

// Error is a refused command: its kind and a short human sentence saying why,
// fit to show to the client (it never holds user input longer than an id).
type Error struct {
	Kind   ErrorKind
	Reason string
}

var _ error = (*Error)(nil)

// Error returns the reason, or the kind when there is none.
func (e *Error) Error() string {
	if e.Reason == "" {
		return e.Kind.String()
	}
	return e.Reason
}

// Is reports whether target is a kind sentinel (an *Error with no Reason) of
// the same kind, so errors.Is(err, ErrForbidden) holds for every forbidden
// error. Errors with a Reason, such as ErrUnknownMessage, match only
// themselves.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Reason == "" && t.Kind == e.Kind
}

// Kind sentinels, for errors.Is.
var (
	// ErrInvalid matches every KindInvalid error.
	ErrInvalid = &Error{Kind: KindInvalid}
	// ErrNotFound matches every KindNotFound error.
	ErrNotFound = &Error{Kind: KindNotFound}
	// ErrForbidden matches every KindForbidden error.
	ErrForbidden = &Error{Kind: KindForbidden}
	// ErrConflict matches every KindConflict error.
	ErrConflict = &Error{Kind: KindConflict}
	// ErrTooLarge matches every KindTooLarge error.
	ErrTooLarge = &Error{Kind: KindTooLarge}
)

// ErrUnknownMessage is what DecideRecall, DecideEdit and DecideReact return for a message id the state
// does not hold: the message never existed in the session or is older than the
// state's retention. The caller tells the two apart with the history read
// model. It matches ErrNotFound.
var ErrUnknownMessage = &Error{Kind: KindNotFound, Reason: "message not found in this session"}

// ErrUnknownReplyTo is what DecideSend returns for a reply to a message id
// the state does not hold: it is not in the session, or older than the
// state's retention; the caller tells the two apart with the history read
// model. It matches ErrNotFound.
var ErrUnknownReplyTo = &Error{Kind: KindNotFound, Reason: "the message replied to is not in this session"}

// Reasons shared by several decisions.
const (
	reasonNoSession = "session not found"
	reasonNotMember = "not a member of this session"
)

func invalid(reason string) error   { return &Error{Kind: KindInvalid, Reason: reason} }
func notFound(reason string) error  { return &Error{Kind: KindNotFound, Reason: reason} }
func forbidden(reason string) error { return &Error{Kind: KindForbidden, Reason: reason} }
func conflict(reason string) error  { return &Error{Kind: KindConflict, Reason: reason} }
