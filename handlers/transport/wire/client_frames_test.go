package wire_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/tellyou/tellyou/domain"
	"github.com/tellyou/tellyou/handlers/transport/wire"
)

func TestDecodeAcceptsEveryClientFrameType(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"send to user":    `{"type":"send","id":"1","toUserId":"bob","messageType":1,"content":"hi","clientMessageId":"c1","clientTimestamp":1700000000000}`,
		"send to session": `{"type":"send","sessionId":"g:x","messageType":1,"content":"hi","clientMessageId":"c1","ext":{"a":1},"extra":true}`,
		"send null ext":   `{"type":"send","sessionId":"g:x","messageType":1,"content":"hi","clientMessageId":"c1","ext":null}`,
		"ack received":    `{"type":"ack","sessionId":"d:a:b","seq":3,"ackType":"received"}`,
		"ack read":        `{"type":"ack","sessionId":"d:a:b","seq":0,"ackType":"read"}`,
		"recall":          `{"type":"recall","sessionId":"d:a:b","messageId":"m"}`,
		"sync":            `{"type":"sync","sessionId":"d:a:b","afterSeq":10,"limit":500}`,
		"sync defaults":   `{"type":"sync","sessionId":"d:a:b"}`,
		"typing":          `  {"type":"typing","sessionId":"d:a:b"}  `,
		"edit":            `{"type":"edit","id":"1","sessionId":"d:a:b","messageId":"m","content":"fixed"}`,
		"edit to empty":   `{"type":"edit","sessionId":"d:a:b","messageId":"m","content":""}`,
		"react":           `{"type":"react","id":"1","sessionId":"d:a:b","messageId":"m","emoji":"👍"}`,
		"react remove":    `{"type":"react","sessionId":"d:a:b","messageId":"m","emoji":"👍","remove":true}`,
		"send reply":      `{"type":"send","sessionId":"g:x","messageType":1,"content":"hi","clientMessageId":"c1","replyTo":"m"}`,
	}
	for name, frame := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f, err := wire.Decode([]byte(frame))
			if err != nil {
				t.Fatalf("Decode(%s) = %v", frame, err)
			}
			if f.Type == "" {
				t.Fatal("type not decoded")
			}
		})
	}
}

func TestDecodeRefusesBadFramesWithBadRequest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, frame, want, echoID string
	}{
		{"invalid JSON", `{"type":"send",`, "invalid JSON", ""},
		{"not an object", `["send"]`, "JSON object", ""},
		{"empty", ``, "JSON object", ""},
		{"invalid UTF-8", "{\"type\":\"typing\",\"sessionId\":\"\xff\"}", "UTF-8", ""},
		{"missing type", `{"id":"7","sessionId":"d:a:b"}`, "type is required", "7"},
		{"unknown type", `{"type":"dance","id":"7"}`, "unknown frame type", "7"},
		{"type not a string", `{"type":5,"id":"7"}`, "field type must be a string", "7"},
		{"id not a string", `{"type":"typing","id":7,"sessionId":"d:a:b"}`, "field id must be a string", ""},
		{"id too long", `{"type":"typing","id":"` + strings.Repeat("x", 65) + `","sessionId":"d:a:b"}`, "id is longer", ""},
		{"seq a string", `{"type":"ack","id":"7","sessionId":"d:a:b","seq":"3","ackType":"read"}`, "field seq must be an integer", "7"},
		{"seq a fraction", `{"type":"ack","id":"7","sessionId":"d:a:b","seq":1.5,"ackType":"read"}`, "field seq must be an integer", "7"},
		{"seq huge", `{"type":"ack","id":"7","sessionId":"d:a:b","seq":1e400,"ackType":"read"}`, "seq", "7"},
		{"seq negative", `{"type":"ack","id":"7","sessionId":"d:a:b","seq":-1,"ackType":"read"}`, "negative", "7"},
		{"ack no seq", `{"type":"ack","id":"7","sessionId":"d:a:b","ackType":"read"}`, "seq is required", "7"},
		{"ack bad type", `{"type":"ack","id":"7","sessionId":"d:a:b","seq":1,"ackType":"seen"}`, "ackType", "7"},
		{"ack no session", `{"type":"ack","id":"7","seq":1,"ackType":"read"}`, "sessionId is required", "7"},
		{"send both targets", `{"type":"send","id":"7","sessionId":"g:x","toUserId":"bob","messageType":1,"content":"hi","clientMessageId":"c"}`, "not both", "7"},
		{"send no target", `{"type":"send","id":"7","messageType":1,"content":"hi","clientMessageId":"c"}`, "is required", "7"},
		{"send no clientMessageId", `{"type":"send","id":"7","toUserId":"bob","messageType":1,"content":"hi"}`, "clientMessageId is required", "7"},
		{"send long clientMessageId", `{"type":"send","id":"7","toUserId":"bob","messageType":1,"content":"hi","clientMessageId":"` + strings.Repeat("c", 65) + `"}`, "clientMessageId is longer", "7"},
		{"send no content", `{"type":"send","id":"7","toUserId":"bob","messageType":1,"clientMessageId":"c"}`, "content is required", "7"},
		{"send content a number", `{"type":"send","id":"7","toUserId":"bob","messageType":1,"content":5,"clientMessageId":"c"}`, "field content must be a string", "7"},
		{"send no messageType", `{"type":"send","id":"7","toUserId":"bob","content":"x","clientMessageId":"c"}`, "messageType is required", "7"},
		{"send messageType a string", `{"type":"send","id":"7","toUserId":"bob","messageType":"1","content":"x","clientMessageId":"c"}`, "messageType must be an integer", "7"},
		{"send ext an array", `{"type":"send","id":"7","toUserId":"bob","messageType":1,"content":"x","clientMessageId":"c","ext":[1]}`, "ext must be a JSON object", "7"},
		{"send timestamp a string", `{"type":"send","id":"7","toUserId":"bob","messageType":1,"content":"x","clientMessageId":"c","clientTimestamp":"now"}`, "clientTimestamp must be an integer", "7"},
		{"recall no message", `{"type":"recall","id":"7","sessionId":"d:a:b"}`, "messageId is required", "7"},
		{"sync limit zero", `{"type":"sync","id":"7","sessionId":"d:a:b","limit":0}`, "limit must be between", "7"},
		{"sync limit huge", `{"type":"sync","id":"7","sessionId":"d:a:b","limit":501}`, "limit must be between", "7"},
		{"sync negative afterSeq", `{"type":"sync","id":"7","sessionId":"d:a:b","afterSeq":-5}`, "afterSeq", "7"},
		{"typing no session", `{"type":"typing","id":"7"}`, "sessionId is required", "7"},
		{"edit no session", `{"type":"edit","id":"7","messageId":"m","content":"x"}`, "sessionId is required", "7"},
		{"edit no message", `{"type":"edit","id":"7","sessionId":"d:a:b","content":"x"}`, "messageId is required", "7"},
		{"edit no content", `{"type":"edit","id":"7","sessionId":"d:a:b","messageId":"m"}`, "content is required", "7"},
		{"edit null content", `{"type":"edit","id":"7","sessionId":"d:a:b","messageId":"m","content":null}`, "content is required", "7"},
		{"edit content a number", `{"type":"edit","id":"7","sessionId":"d:a:b","messageId":"m","content":5}`, "field content must be a string", "7"},
		{"edit messageId a number", `{"type":"edit","id":"7","sessionId":"d:a:b","messageId":5,"content":"x"}`, "field messageId must be a string", "7"},
		{"react no message", `{"type":"react","id":"7","sessionId":"d:a:b","emoji":"x"}`, "messageId is required", "7"},
		{"react no emoji", `{"type":"react","id":"7","sessionId":"d:a:b","messageId":"m"}`, "emoji is required", "7"},
		{"react empty emoji", `{"type":"react","id":"7","sessionId":"d:a:b","messageId":"m","emoji":""}`, "emoji is required", "7"},
		{"react emoji a number", `{"type":"react","id":"7","sessionId":"d:a:b","messageId":"m","emoji":1}`, "field emoji must be a string", "7"},
		{"react remove a string", `{"type":"react","id":"7","sessionId":"d:a:b","messageId":"m","emoji":"x","remove":"yes"}`, "field remove must be true or false", "7"},
		{"send replyTo a number", `{"type":"send","id":"7","toUserId":"bob","messageType":1,"content":"x","clientMessageId":"c","replyTo":3}`, "field replyTo must be a string", "7"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, err := wire.Decode([]byte(c.frame))
			if err == nil {
				t.Fatalf("Decode(%s) accepted it", c.frame)
			}
			if err.Code != wire.CodeBadRequest || !strings.Contains(err.Message, c.want) {
				t.Fatalf("Decode(%s) = %v, want bad_request containing %q", c.frame, err, c.want)
			}
			if f.ID != c.echoID {
				t.Fatalf("echo id = %q, want %q", f.ID, c.echoID)
			}
		})
	}
}

func TestFromErrorMapsEveryKindOnce(t *testing.T) {
	t.Parallel()
	cases := []struct {
		err    error
		code   string
		status int
	}{
		{&domain.Error{Kind: domain.KindInvalid, Reason: "bad"}, wire.CodeBadRequest, 400},
		{fmt.Errorf("wrapped: %w", &domain.Error{Kind: domain.KindNotFound, Reason: "gone"}), wire.CodeNotFound, 404},
		{&domain.Error{Kind: domain.KindForbidden, Reason: "no"}, wire.CodeForbidden, 403},
		{&domain.Error{Kind: domain.KindConflict, Reason: "busy"}, wire.CodeConflict, 409},
		{&wire.Error{Code: wire.CodeRateLimited, Message: "slow down"}, wire.CodeRateLimited, 429},
		{&wire.Error{Code: wire.CodeTooLarge, Message: "big"}, wire.CodeTooLarge, 413},
		{&wire.Error{Code: wire.CodeUnauthorized, Message: "who"}, wire.CodeUnauthorized, 401},
		{fmt.Errorf("append: %w", &pgconn.PgError{Code: "57P01"}), wire.CodeUnavailable, 503},
		{fmt.Errorf("append: %w", &net.OpError{Op: "dial", Err: errors.New("refused")}), wire.CodeUnavailable, 503},
		{fmt.Errorf("append: %w", &pgconn.PgError{Code: "23505"}), wire.CodeInternal, 500},
		{fmt.Errorf("begin: %w", pgconn.ErrConnClosed), wire.CodeUnavailable, 503},
		{fmt.Errorf("read: %w", io.ErrUnexpectedEOF), wire.CodeUnavailable, 503},
		{errors.New("boom"), wire.CodeInternal, 500},
	}
	for _, c := range cases {
		got := wire.FromError(c.err)
		if got.Code != c.code || got.HTTPStatus() != c.status {
			t.Errorf("FromError(%v) = %v (status %d), want %s (%d)", c.err, got, got.HTTPStatus(), c.code, c.status)
		}
		if got.Code == wire.CodeInternal && got.Message != "internal error" {
			t.Errorf("internal error leaks details: %q", got.Message)
		}
	}
}

func TestDecodeCountsCharactersAndEchoesOnlyWhatIsWithinBounds(t *testing.T) {
	t.Parallel()
	sixtyFour := strings.Repeat("é", 64) // 128 bytes
	f, err := wire.Decode([]byte(`{"type":"send","id":"` + sixtyFour + `","toUserId":"bob","messageType":1,"content":"x","clientMessageId":"` + sixtyFour + `"}`))
	if err != nil || f.ID != sixtyFour || f.ClientMessageID != sixtyFour {
		t.Fatalf("64 two-byte characters: %v, id %q", err, f.ID)
	}
	long := strings.Repeat("c", 65)
	f, err = wire.Decode([]byte(`{"type":"send","id":"7","toUserId":"bob","messageType":1,"content":"x","clientMessageId":"` + long + `"}`))
	if err == nil || f.ID != "7" || f.ClientMessageID != "" {
		t.Fatalf("long clientMessageId: %v, echoes id %q and clientMessageId %q", err, f.ID, f.ClientMessageID)
	}
	f, err = wire.Decode([]byte(`{"type":"send","id":"` + long + `","toUserId":"bob","messageType":1,"content":"x","clientMessageId":"c1"}`))
	if err == nil || f.ID != "" || f.ClientMessageID != "c1" {
		t.Fatalf("long id: %v, echoes id %q and clientMessageId %q", err, f.ID, f.ClientMessageID)
	}
}
