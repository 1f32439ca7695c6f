package wire

// TypePresence is the type of the presence push.
const TypePresence = "presence"

// PresenceFrame pushes that a user who shares a session with the recipient
// came online or went offline. LastSeenAt is when the user's last connection
// closed (ms since the Unix epoch), 0 while online.
type PresenceFrame struct {
	Type       string `json:"type"`
	UserID     string `json:"userId"`
	Online     bool   `json:"online"`
	LastSeenAt int64  `json:"lastSeenAt"`
}
