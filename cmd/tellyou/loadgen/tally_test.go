package loadgen

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestWorkerTalliesMergeExactly sends the tallies of three parts through
// the worker encoding and checks that the merged one holds exactly what a
// single recorder of every sample would: sums, the latest times, and the
// percentiles of all samples together (not an average of percentiles).
func TestWorkerTalliesMergeExactly(t *testing.T) {
	t.Parallel()
	all := newHistogram()
	var parts []*tally
	var sent int64
	for p := range 3 {
		r := newRecorder()
		// The parts see very different latencies: averaging their
		// percentiles would be far off.
		for range 1000 * (p + 1) {
			v := rand.Int64N(1000*int64(p*p*10+1)) + 1
			_ = r.sendAck.RecordValue(v)
			_ = r.sendAckFirst.RecordValue(v + 5)
			_ = r.delivery.RecordValue(2 * v)
			_ = all.RecordValue(v)
		}
		r.sent.Add(int64(10 * (p + 1)))
		sent += int64(10 * (p + 1))
		r.lastDelivery.Store(int64(100 + p))
		r.lastAck.Store(int64(300 - p))
		r.fail("send:conflict")
		r.overloaded.Add(2)
		data, err := json.Marshal(r.snapshot())
		if err != nil {
			t.Fatal(err)
		}
		var back tally
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatalf("decode a tally: %v", err)
		}
		parts = append(parts, &back)
	}
	m := mergeTallies(parts)
	if m.Sent != sent || m.Overloaded != 6 || m.Errors["send:conflict"] != 3 || m.LastDelivery != 102 || m.LastAck != 300 {
		t.Errorf("merged counts: sent %d (want %d), overloaded %d, errors %v, last delivery %d, last ack %d",
			m.Sent, sent, m.Overloaded, m.Errors, m.LastDelivery, m.LastAck)
	}
	if !m.SendAck.Equals(all) {
		t.Errorf("merged sendAck histogram differs from one of every sample")
	}
	for _, q := range []float64{50, 90, 99, 100} {
		if got, want := m.SendAck.ValueAtQuantile(q), all.ValueAtQuantile(q); got != want {
			t.Errorf("p%v: merged %d, all samples %d", q, got, want)
		}
	}
	if m.Delivery.TotalCount() != all.TotalCount() || m.SendAckFirst.TotalCount() != all.TotalCount() {
		t.Errorf("merged counts %d and %d, want %d", m.Delivery.TotalCount(), m.SendAckFirst.TotalCount(), all.TotalCount())
	}
}

func TestAnEmptyHistogramTravels(t *testing.T) {
	t.Parallel()
	data, err := json.Marshal(histogram{newHistogram()})
	if err != nil {
		t.Fatal(err)
	}
	var back histogram
	if err := json.Unmarshal(data, &back); err != nil || back.TotalCount() != 0 || back.HighestTrackableValue() != maxLatencyMicros {
		t.Fatalf("empty histogram back as %v, %v", back.Histogram, err)
	}
	if err := json.Unmarshal([]byte(`"not base64"`), &back); err == nil {
		t.Error("a bad histogram was decoded")
	}
}

func TestSeqSetCountsEachSeqOnce(t *testing.T) {
	t.Parallel()
	var s seqSet
	for _, tt := range []struct {
		seq  int64
		want bool
	}{{1, true}, {3, true}, {3, false}, {2, true}, {1, false}, {2, false}, {5, true}, {4, true}, {5, false}, {6, true}} {
		if got := s.add(tt.seq); got != tt.want {
			t.Errorf("add(%d) = %v, want %v", tt.seq, got, tt.want)
		}
	}
	if s.floor != 6 || len(s.above) != 0 {
		t.Errorf("floor %d, above %v; want 6 and nothing", s.floor, s.above)
	}
}
