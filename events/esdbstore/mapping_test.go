package esdbstore_test

import (
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/esdbstore"
)

func TestExpectedRevision(t *testing.T) {
	t.Parallel()
	tests := []struct {
		expected events.ExpectedVersion
		want     esdb.ExpectedRevision
	}{
		{events.AnyVersion, esdb.Any{}},
		{events.NoStream, esdb.NoStream{}},
		{1, esdb.StreamRevision{Value: 0}},
		{42, esdb.StreamRevision{Value: 41}},
	}
	for _, tc := range tests {
		if got := esdbstore.ExpectedRevision(tc.expected); got != tc.want {
			t.Errorf("expected version %d: %#v, want %#v", tc.expected, got, tc.want)
		}
	}
}

func TestVersionRevision(t *testing.T) {
	t.Parallel()
	for _, v := range []int64{1, 2, 1000, math.MaxInt64} {
		r := esdbstore.RevisionOf(v)
		if r != uint64(v-1) || esdbstore.VersionOf(r) != v {
			t.Errorf("version %d: revision %d, back to version %d", v, r, esdbstore.VersionOf(r))
		}
	}
}

func TestPositionOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      esdb.Position
		want    events.Position
		wantErr bool
	}{
		{esdb.Position{Commit: 1234, Prepare: 1234}, 1234, false},
		{esdb.Position{Commit: 0, Prepare: 0}, 0, false},
		// Stream reads on older servers: no commit position.
		{esdb.Position{Commit: math.MaxUint64, Prepare: 5678}, 5678, false},
		{esdb.Position{Commit: math.MaxInt64 + 1, Prepare: 1}, 0, true},
		{esdb.Position{Commit: math.MaxUint64, Prepare: math.MaxUint64}, 0, true},
	}
	for _, tc := range tests {
		got, err := esdbstore.PositionOf(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("position %+v: %d, %v; want %d, error %t", tc.in, got, err, tc.want, tc.wantErr)
		}
	}
}

func TestAllPositionFrom(t *testing.T) {
	t.Parallel()
	if got := esdbstore.AllPositionFrom(0); got != (esdb.Start{}) {
		t.Errorf("after 0: %#v, want the start", got)
	}
	if got := esdbstore.AllPositionFrom(987); got != (esdb.Position{Commit: 987, Prepare: 987}) {
		t.Errorf("after 987: %#v, want commit and prepare 987", got)
	}
	a, b := esdb.Position{Commit: 10, Prepare: 10}, esdb.Position{Commit: 10, Prepare: 12}
	if !esdbstore.Beyond(b, a) || esdbstore.Beyond(a, b) || esdbstore.Beyond(a, a) {
		t.Error("beyond does not order (commit, prepare) pairs")
	}
}

func TestIsCode(t *testing.T) {
	t.Parallel()
	// The client's error has unexported fields: FromError is the only way to
	// make one outside it, with the unknown code.
	unknown, _ := esdb.FromError(errors.New("boom"))
	wrapped := fmt.Errorf("append: %w", unknown)
	if !esdbstore.IsCode(wrapped, esdb.ErrorCodeUnknown) {
		t.Error("wrapped *esdb.Error: code not found")
	}
	if esdbstore.IsCode(wrapped, esdb.ErrorCodeWrongExpectedVersion) {
		t.Error("unknown code taken for a wrong expected version")
	}
	if esdbstore.IsCode(errors.New("plain"), esdb.ErrorCodeUnknown) || esdbstore.IsCode(nil, esdb.ErrorCodeUnknown) {
		t.Error("an error without *esdb.Error has a code")
	}
}

func TestMatchRun(t *testing.T) {
	t.Parallel()
	ids := []uuid.UUID{uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()}
	stored := make([]*esdb.RecordedEvent, len(ids)) // versions 3..7 at positions 300..700
	for i, id := range ids {
		stored[i] = &esdb.RecordedEvent{EventID: id, EventNumber: uint64(i + 2),
			Position: esdb.Position{Commit: uint64(300 + 100*i), Prepare: uint64(300 + 100*i)}}
	}
	data := func(ids ...uuid.UUID) []events.EventData {
		evs := make([]events.EventData, len(ids))
		for i, id := range ids {
			evs[i].EventID = id
		}
		return evs
	}
	tests := map[string]struct {
		evs       []events.EventData
		wantFound int
		wantDup   bool
		wantErr   bool
		want      events.AppendResult
	}{
		"none":          {evs: data(uuid.New(), uuid.New()), wantFound: 0},
		"run":           {evs: data(ids[1], ids[2], ids[3]), wantFound: 3, want: events.AppendResult{FirstVersion: 4, LastVersion: 6, Position: 600, Duplicate: true}},
		"single":        {evs: data(ids[4]), wantFound: 1, want: events.AppendResult{FirstVersion: 7, LastVersion: 7, Position: 700, Duplicate: true}},
		"partial":       {evs: data(ids[0], uuid.New()), wantFound: 1},
		"out of order":  {evs: data(ids[2], ids[1]), wantErr: true},
		"not adjacent":  {evs: data(ids[0], ids[2]), wantErr: true},
		"new then some": {evs: data(uuid.New(), ids[0]), wantFound: 1},
	}
	for name, tc := range tests {
		res, found, err := esdbstore.MatchRun(tc.evs, stored)
		if tc.wantErr {
			if !errors.Is(err, events.ErrDuplicateEventID) {
				t.Errorf("%s: %v, want an error matching ErrDuplicateEventID", name, err)
			}
			continue
		}
		if err != nil || found != tc.wantFound || res != tc.want {
			t.Errorf("%s: %+v, found %d, %v; want %+v, found %d", name, res, found, err, tc.want, tc.wantFound)
		}
	}
}
