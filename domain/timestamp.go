package domain

import (
	"math"
	"time"
)

// AdjustTimestamp returns the timestamp a message is shown with: clientTs when
// it is within maxSkew of serverTs (inclusive), else serverTs. A clientTs <= 0
// (absent) gives serverTs. Times are ms since the Unix epoch; maxSkew is used
// at millisecond precision, and a negative maxSkew accepts no client time.
func AdjustTimestamp(clientTs, serverTs int64, maxSkew time.Duration) int64 {
	skew := maxSkew.Milliseconds()
	if clientTs <= 0 || skew < 0 {
		return serverTs
	}
	// Saturate instead of overflowing at the ends of the int64 range.
	lo, hi := serverTs-skew, serverTs+skew
	if lo > serverTs {
		lo = math.MinInt64
	}
	if hi < serverTs {
		hi = math.MaxInt64
	}
	if clientTs >= lo && clientTs <= hi {
		return clientTs
	}
	return serverTs
}
