package loadgen

import (
	"encoding/json"
	"fmt"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// tally is what one process measured during a step. The tallies of a run
// spread over processes merge exactly: counts add up, latency histograms
// merge bucket by bucket (percentiles are read from the merged histogram,
// never averaged), the latest times win. All processes share the machine's
// clock, so their unix times compare.
type tally struct {
	Sent          int64 `json:"sent"`
	Acked         int64 `json:"acked"`
	Delivered     int64 `json:"delivered"`
	Repeats       int64 `json:"repeats"`
	Synced        int64 `json:"synced"`
	AcksSent      int64 `json:"acksSent"`
	AcksOK        int64 `json:"acksOk"`
	Syncs         int64 `json:"syncs"`
	Reconnects    int64 `json:"reconnects"`
	Overloaded    int64 `json:"overloaded"`
	Resent        int64 `json:"resent"`
	DuplicateAcks int64 `json:"duplicateAcks"`
	// Unanswered counts the sends without an answer when the step ended,
	// refused ones waiting for their resend included.
	Unanswered   int64            `json:"unanswered"`
	LastAck      int64            `json:"lastAck"`      // unix ns, 0: none
	LastDelivery int64            `json:"lastDelivery"` // unix ns, 0: none
	SendAck      histogram        `json:"sendAck"`
	SendAckFirst histogram        `json:"sendAckFirst"`
	Delivery     histogram        `json:"delivery"`
	Errors       map[string]int64 `json:"errors"`
}

// newTally returns an empty tally.
func newTally() *tally {
	return &tally{SendAck: histogram{newHistogram()}, SendAckFirst: histogram{newHistogram()},
		Delivery: histogram{newHistogram()}, Errors: map[string]int64{}}
}

// merge adds o to t.
func (t *tally) merge(o *tally) {
	for _, f := range []struct{ dst, src *int64 }{
		{&t.Sent, &o.Sent}, {&t.Acked, &o.Acked}, {&t.Delivered, &o.Delivered}, {&t.Repeats, &o.Repeats},
		{&t.Synced, &o.Synced}, {&t.AcksSent, &o.AcksSent}, {&t.AcksOK, &o.AcksOK}, {&t.Syncs, &o.Syncs},
		{&t.Reconnects, &o.Reconnects}, {&t.Overloaded, &o.Overloaded}, {&t.Resent, &o.Resent},
		{&t.DuplicateAcks, &o.DuplicateAcks}, {&t.Unanswered, &o.Unanswered},
	} {
		*f.dst += *f.src
	}
	t.LastAck = max(t.LastAck, o.LastAck)
	t.LastDelivery = max(t.LastDelivery, o.LastDelivery)
	t.SendAck.Merge(o.SendAck.Histogram)
	t.SendAckFirst.Merge(o.SendAckFirst.Histogram)
	t.Delivery.Merge(o.Delivery.Histogram)
	for k, v := range o.Errors {
		t.Errors[k] += v
	}
}

// mergeTallies merges the tallies of a step's parts into a new one.
func mergeTallies(parts []*tally) *tally {
	t := newTally()
	for _, p := range parts {
		t.merge(p)
	}
	return t
}

// histogram is a latency histogram that travels between processes in the
// HdrHistogram V2 compressed encoding (a base64 string), which keeps every
// bucket.
type histogram struct{ *hdrhistogram.Histogram }

func (h histogram) MarshalJSON() ([]byte, error) {
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		return nil, fmt.Errorf("encode a histogram: %w", err)
	}
	return json.Marshal(string(enc))
}

func (h *histogram) UnmarshalJSON(data []byte) error {
	var enc string
	if err := json.Unmarshal(data, &enc); err != nil {
		return fmt.Errorf("a histogram is a string: %w", err)
	}
	dec, err := hdrhistogram.Decode([]byte(enc))
	if err != nil {
		return fmt.Errorf("decode a histogram: %w", err)
	}
	h.Histogram = dec
	return nil
}
