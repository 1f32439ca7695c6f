package keystore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/tellyou/tellyou/events"
	"github.com/tellyou/tellyou/events/keystore"
	"github.com/tellyou/tellyou/events/sealing"
)

func newSealer(t *testing.T, keys sealing.KeySource) *sealing.Sealer {
	t.Helper()
	s, err := sealing.NewSealer(keys)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSealedContentOpensUntilShredded(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	pool := newPool(t)
	store := newStore(t, pool, keystore.Config{Master: key(1)})
	sealer := newSealer(t, store)
	at := day1.UnixMilli()
	sent := events.MessageSent{SessionID: "g:1", MessageID: uuid.NewString(), Seq: 1, SenderID: "ann", Content: "secret-ann-42",
		Ext: json.RawMessage(`{"note":"secret-ann-ext"}`), ServerTimestamp: at}
	edit := events.MessageEdited{SessionID: "g:1", MessageID: sent.MessageID, Seq: 1, By: "ann", Content: "secret-ann-43", EditedAt: at}
	bobs := events.MessageSent{SessionID: "g:1", MessageID: uuid.NewString(), Seq: 2, SenderID: "bob", Content: "bob says", ServerTimestamp: at}
	var sealed []events.Payload
	for _, p := range []events.Payload{sent, edit, bobs, events.MessagesRead{SessionID: "g:1", UserID: "bob", UpToSeq: 1}} {
		s, err := sealer.Seal(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		d, err := events.Encode(events.Envelope{Payload: s})
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(d.Data, []byte("secret")) || bytes.Contains(d.Data, []byte("bob says")) {
			t.Fatalf("encoded %s holds its content in clear: %s", d.Type, d.Data)
		}
		env, err := events.Decode(events.RecordedEvent{StreamID: "g:1", Version: 1, Type: d.Type, Data: d.Data, Metadata: d.Metadata})
		if err != nil {
			t.Fatal(err)
		}
		if want := events.SchemaVersionOf(s); env.Meta.SchemaVersion != want {
			t.Fatalf("%s written with schema version %d, want %d", d.Type, env.Meta.SchemaVersion, want)
		}
		sealed = append(sealed, env.Payload)
	}
	if sealed[0].(events.MessageSent).Sealed == nil || sealed[1].(events.MessageEdited).Sealed == nil {
		t.Fatal("message or edit not sealed")
	}

	// A node with a cold cache opens them.
	reader := newSealer(t, newStore(t, pool, keystore.Config{Master: key(1)}))
	open := func(p events.Payload) events.Payload {
		t.Helper()
		o, err := reader.Open(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	if got := open(sealed[0]).(events.MessageSent); got.Content != sent.Content || string(got.Ext) != string(sent.Ext) ||
		got.Erased || got.Sealed != nil || got.SealedExt != nil {
		t.Fatalf("opened message = %+v", got)
	}
	// The sealed ext cannot pass for the sealed content.
	swapped := sealed[0].(events.MessageSent)
	swapped.Sealed, swapped.SealedExt = swapped.SealedExt, swapped.Sealed
	if _, err := reader.Open(ctx, swapped); !errors.Is(err, sealing.ErrForged) {
		t.Fatalf("Open(content and ext swapped) = %v, want ErrForged", err)
	}
	if got := open(sealed[1]).(events.MessageEdited); got.Content != edit.Content || got.Erased {
		t.Fatalf("opened edit = %+v", got)
	}

	// Sealed content moved onto another message does not open.
	moved := sealed[2].(events.MessageSent)
	moved.MessageID = sent.MessageID
	if _, err := reader.Open(ctx, moved); !errors.Is(err, sealing.ErrForged) {
		t.Fatalf("Open(moved content) = %v, want ErrForged", err)
	}
	edited := sealed[0].(events.MessageSent)
	edited.Sealed = &events.Sealed{KeyID: edited.Sealed.KeyID, Nonce: edited.Sealed.Nonce, Ciphertext: bytes.Clone(edited.Sealed.Ciphertext)}
	edited.Sealed.Ciphertext[0] ^= 1
	if _, err := reader.Open(ctx, edited); !errors.Is(err, sealing.ErrForged) {
		t.Fatalf("Open(tampered) = %v, want ErrForged", err)
	}

	// After a rotation, a node with only the new master opens old content.
	// (Its cache lasts a moment, so it sees the erasure below at once.)
	if _, err := store.RotateMaster(ctx, key(2), 10); err != nil {
		t.Fatal(err)
	}
	reader = newSealer(t, newStore(t, pool, keystore.Config{Master: key(2), CacheTTL: time.Nanosecond}))
	if got := open(sealed[0]).(events.MessageSent); got.Content != sent.Content {
		t.Fatalf("after rotation, opened = %+v", got)
	}

	// Erasing ann shreds her message and her edit, not bob's.
	if err := store.EraseUser(ctx, "ann"); err != nil {
		t.Fatal(err)
	}
	if got := open(sealed[0]).(events.MessageSent); !got.Erased || got.Content != "" || got.Ext != nil {
		t.Fatalf("erased sender's message opened as %+v", got)
	}
	if got := open(sealed[1]).(events.MessageEdited); !got.Erased || got.Content != "" {
		t.Fatalf("erased sender's edit opened as %+v", got)
	}
	if got := open(sealed[2]).(events.MessageSent); got.Erased || got.Content != "bob says" {
		t.Fatalf("bob's message opened as %+v", got)
	}
	if _, err := sealer.Seal(ctx, sent); !errors.Is(err, sealing.ErrUserErased) {
		t.Fatalf("Seal for an erased sender = %v, want ErrUserErased", err)
	}
}
