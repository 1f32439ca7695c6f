package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/handlers/eventview"
)

// bucket is one session's minute.
type bucket struct {
	Session string
	Minute  time.Time // UTC, truncated to the minute
}

// tally is what one bucket counts.
type tally struct {
	Sent     int
	Recalled int
}

// Counts counts messages sent and recalled per session per minute of the
// events' own time (metadata occurredAt), so a replay counts the same. The
// feed is at least once: Counts drops an event whose stream version it has
// already passed, which is exact because each session's events arrive in
// version order. It is not safe for concurrent use.
type Counts struct {
	tallies map[bucket]*tally
	// versions is the last version seen per stream.
	versions map[string]int64
}

// NewCounts returns empty counts.
func NewCounts() *Counts {
	return &Counts{tallies: map[bucket]*tally{}, versions: map[string]int64{}}
}

// Add counts one event of the feed. It returns false for a repeat (ignored)
// and an error for an event it cannot read the time of.
func (c *Counts) Add(e eventview.Event) (bool, error) {
	if e.Version <= c.versions[e.StreamID] {
		return false, nil
	}
	if e.Type != events.TypeMessageSent && e.Type != events.TypeMessageRecalled {
		c.versions[e.StreamID] = e.Version
		return true, nil
	}
	var meta struct {
		OccurredAt *int64 `json:"occurredAt"`
	}
	if err := json.Unmarshal(e.Metadata, &meta); err != nil || meta.OccurredAt == nil {
		return false, fmt.Errorf("%s %s@%d: no occurredAt in its metadata %s", e.Type, e.StreamID, e.Version, e.Metadata)
	}
	b := bucket{Session: e.StreamID, Minute: time.UnixMilli(*meta.OccurredAt).UTC().Truncate(time.Minute)}
	t := c.tallies[b]
	if t == nil {
		t = &tally{}
		c.tallies[b] = t
	}
	if e.Type == events.TypeMessageSent {
		t.Sent++
	} else {
		t.Recalled++
	}
	c.versions[e.StreamID] = e.Version
	return true, nil
}

// WriteTable writes the counts as a table, by minute then session.
func (c *Counts) WriteTable(w io.Writer) error {
	keys := make([]bucket, 0, len(c.tallies))
	for b := range c.tallies {
		keys = append(keys, b)
	}
	slices.SortFunc(keys, func(a, b bucket) int {
		return cmp.Or(a.Minute.Compare(b.Minute), cmp.Compare(a.Session, b.Session))
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "minute (UTC)\tsession\tsent\trecalled\t")
	sent, recalled := 0, 0
	for _, b := range keys {
		t := c.tallies[b]
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t\n", b.Minute.Format("2006-01-02 15:04"), b.Session, t.Sent, t.Recalled)
		sent, recalled = sent+t.Sent, recalled+t.Recalled
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t\n", sent, recalled)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write counts: %w", err)
	}
	return nil
}
