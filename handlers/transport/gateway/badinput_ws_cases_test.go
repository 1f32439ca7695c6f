package gateway_test

import (
	"encoding/json"
	"maps"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// absentField, given as a value to with, removes the field.
type absentField struct{}

var absent absentField

// with copies a frame and sets (or, with absent, removes) fields.
func with(base map[string]any, kv ...any) map[string]any {
	out := maps.Clone(base)
	for i := 0; i+1 < len(kv); i += 2 {
		if _, ok := kv[i+1].(absentField); ok {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// raw is a JSON value written as is, for numbers no Go type holds.
type raw = json.RawMessage

// wsBadInputs is the table. Its frames go to ann, who shares d:ann:bob with
// bob (bobMsg is bob's message there) and is no member of carl's group
// (carlMsg is carl's message there) nor of d:carl:dave.
func wsBadInputs(bobMsg, carlGroup, carlMsg string) []wsBadInput {
	snd := func(id string) map[string]any {
		return map[string]any{"type": "send", "id": id, "sessionId": "d:ann:bob", "messageType": 1, "content": "x", "clientMessageId": "cm-" + id}
	}
	ack := func(id string) map[string]any {
		return map[string]any{"type": "ack", "id": id, "sessionId": "d:ann:bob", "seq": 1, "ackType": "received"}
	}
	sync := func(id string) map[string]any {
		return map[string]any{"type": "sync", "id": id, "sessionId": "d:ann:bob"}
	}
	typing := func(id, session string) map[string]any {
		return map[string]any{"type": "typing", "id": id, "sessionId": session}
	}
	recall := func(id, session, msg string) map[string]any {
		return map[string]any{"type": "recall", "id": id, "sessionId": session, "messageId": msg}
	}
	edit := func(id, session, msg string) map[string]any {
		return map[string]any{"type": "edit", "id": id, "sessionId": session, "messageId": msg, "content": "edited"}
	}
	react := func(id, session, msg string) map[string]any {
		return map[string]any{"type": "react", "id": id, "sessionId": session, "messageId": msg, "emoji": "👍"}
	}
	bad := func(name string, frame map[string]any, code string) wsBadInput {
		c := wsBadInput{name: name, frame: frame, id: frame["id"].(string), code: code}
		if frame["type"] == "send" {
			c.cmid, _ = frame["clientMessageId"].(string)
		}
		return c
	}
	long := strings.Repeat("x", 65)
	var firstDup frame
	return []wsBadInput{
		// Malformed JSON and encodings: nothing to echo.
		{name: "truncated JSON", frame: `{"type":"send",`, code: "bad_request"},
		{name: "not an object", frame: `["typing"]`, code: "bad_request"},
		{name: "empty frame", frame: ``, code: "bad_request"},
		{name: "JSON null", frame: `null`, code: "bad_request"},
		{name: "data after the object", frame: `{"type":"typing","id":"trail","sessionId":"d:ann:bob"} {}`, code: "bad_request"},
		{name: "raw NUL byte", frame: "{\"type\":\"typing\",\"id\":\"nul\",\"sessionId\":\"d:ann:bob\x00\"}", code: "bad_request"},
		{name: "invalid UTF-8", frame: "{\"type\":\"send\",\"id\":\"utf\",\"sessionId\":\"d:ann:bob\",\"messageType\":1,\"content\":\"\xff\xfe\",\"clientMessageId\":\"u\"}", code: "bad_request"},
		{name: "byte order mark", frame: "\ufeff{\"type\":\"typing\",\"id\":\"bom\",\"sessionId\":\"d:ann:bob\"}", code: "bad_request"},
		{name: "binary frame", frame: []byte(`{"type":"typing","id":"bin","sessionId":"d:ann:bob"}`), id: "bin", code: "bad_request"},
		{name: "ext nested 30,000 deep", frame: `{"type":"send","id":"deep30k","sessionId":"d:ann:bob","messageType":1,"content":"x","clientMessageId":"d",` +
			`"ext":{"a":` + nested(30_000) + `}}`, code: "bad_request"},
		{name: "unknown field nested 10,500 objects deep", frame: `{"type":"typing","id":"deepobj","sessionId":"d:ann:bob","x":` +
			strings.Repeat(`{"a":`, 10_500) + "1" + strings.Repeat("}", 10_500) + `}`, code: "bad_request"},

		// Huge numbers.
		bad("seq 1e400", with(ack("h1"), "seq", raw("1e400")), "bad_request"),
		bad("seq 2^64", with(ack("h2"), "seq", raw(twoTo64)), "bad_request"),
		bad("sync limit 2^64", with(sync("h3"), "limit", raw(twoTo64)), "bad_request"),
		bad("sync afterSeq 1e400", with(sync("h4"), "afterSeq", raw("1e400")), "bad_request"),
		bad("messageType 1e400", with(snd("h5"), "messageType", raw("1e400")), "bad_request"),
		bad("clientTimestamp 2^64", with(snd("h6"), "clientTimestamp", raw(twoTo64)), "bad_request"),

		// Negative and enormous values.
		bad("ack seq -1", with(ack("n1"), "seq", -1), "bad_request"),
		bad("ack seq max int64", with(ack("n2"), "seq", raw(maxInt64)), "bad_request"),
		bad("sync afterSeq -1", with(sync("n3"), "afterSeq", -1), "bad_request"),
		bad("sync limit -1", with(sync("n4"), "limit", -1), "bad_request"),
		bad("sync limit 0", with(sync("n5"), "limit", 0), "bad_request"),
		bad("sync limit 501", with(sync("n6"), "limit", 501), "bad_request"),
		bad("messageType 0", with(snd("n7"), "messageType", 0), "bad_request"),
		bad("messageType -1", with(snd("n8"), "messageType", -1), "bad_request"),
		{name: "sync afterSeq max int64", frame: with(sync("n9"), "afterSeq", raw(maxInt64)), id: "n9", answer: "messages",
			check: func(t *testing.T, _ *env, f frame) {
				if len(f.Messages) != 0 || f.HasMore {
					t.Errorf("sync after max int64: %s", f.raw)
				}
			}},
		{name: "clientTimestamp min int64", frame: with(snd("n10"), "clientTimestamp", raw(minInt64)), id: "n10", answer: "sendAck", stored: 1,
			check: func(t *testing.T, _ *env, f frame) {
				if f.AdjustedTimestamp != f.ServerTimestamp {
					t.Errorf("a client timestamp at min int64 was kept: %s", f.raw)
				}
			}},

		// NUL characters: refused in content and clientMessageId, kept in ext.
		bad("NUL in content", with(snd("z1"), "content", "a\x00b"), "bad_request"),
		bad("NUL in clientMessageId", with(snd("z2"), "clientMessageId", "c\x00z2"), "bad_request"),
		{name: "NUL in ext", frame: `{"type":"send","id":"z3","sessionId":"d:ann:bob","messageType":1,"content":"x","clientMessageId":"cm-z3","ext":{"k":"a\u0000b"}}`,
			id: "z3", answer: "sendAck", stored: 1, check: storedVerbatim("x", "cm-z3", `{"k":"a\u0000b"}`)},

		// Wrong types.
		bad("type a number", map[string]any{"type": 5, "id": "w1"}, "bad_request"),
		{name: "id a number", frame: `{"type":"typing","id":7,"sessionId":"d:ann:bob"}`, code: "bad_request"},
		bad("content a number", with(snd("w3"), "content", 5), "bad_request"),
		bad("sessionId a number", with(typing("w4", "x"), "sessionId", 5), "bad_request"),
		bad("sessionId an object", with(typing("w5", "x"), "sessionId", map[string]any{"$ne": ""}), "bad_request"),
		bad("ext a string", with(snd("w6"), "ext", "{}"), "bad_request"),
		bad("ext an array", with(snd("w7"), "ext", []int{1}), "bad_request"),
		bad("seq a string", with(ack("w8"), "seq", "1"), "bad_request"),
		bad("limit a fraction", with(sync("w9"), "limit", 1.5), "bad_request"),
		bad("toUserId a list", with(snd("w10"), "sessionId", absent, "toUserId", []string{"bob"}), "bad_request"),
		bad("messageType a string", with(snd("w11"), "messageType", "1"), "bad_request"),
		bad("ackType a number", with(ack("w12"), "ackType", 1), "bad_request"),
		bad("edit content a number", with(edit("w13", "d:ann:bob", bobMsg), "content", 5), "bad_request"),
		bad("edit messageId a number", with(edit("w14", "d:ann:bob", bobMsg), "messageId", 5), "bad_request"),
		bad("react emoji a number", with(react("w15", "d:ann:bob", bobMsg), "emoji", 1), "bad_request"),
		bad("react remove a string", with(react("w16", "d:ann:bob", bobMsg), "remove", "yes"), "bad_request"),
		bad("react emoji a list", with(react("w17", "d:ann:bob", bobMsg), "emoji", []string{"👍"}), "bad_request"),
		bad("replyTo a number", with(snd("w18"), "replyTo", 5), "bad_request"),

		// Missing fields.
		bad("no type", map[string]any{"id": "m1", "sessionId": "d:ann:bob"}, "bad_request"),
		bad("send without clientMessageId", with(snd("m2"), "clientMessageId", absent), "bad_request"),
		bad("send without content", with(snd("m3"), "content", absent), "bad_request"),
		bad("send with null content", with(snd("m4"), "content", nil), "bad_request"),
		bad("send with empty content", with(snd("m5"), "content", ""), "bad_request"),
		bad("send without messageType", with(snd("m6"), "messageType", absent), "bad_request"),
		bad("send without a target", with(snd("m7"), "sessionId", absent), "bad_request"),
		bad("ack without seq", with(ack("m8"), "seq", absent), "bad_request"),
		bad("ack without ackType", with(ack("m9"), "ackType", absent), "bad_request"),
		bad("ackType unknown", with(ack("m10"), "ackType", "seen"), "bad_request"),
		bad("recall without messageId", with(recall("m11", "d:ann:bob", ""), "messageId", absent), "bad_request"),
		bad("typing without sessionId", with(typing("m12", ""), "sessionId", absent), "bad_request"),
		bad("sync without sessionId", with(sync("m13"), "sessionId", absent), "bad_request"),
		bad("edit without messageId", with(edit("m14", "d:ann:bob", bobMsg), "messageId", absent), "bad_request"),
		bad("edit without content", with(edit("m15", "d:ann:bob", bobMsg), "content", absent), "bad_request"),
		bad("edit with null content", with(edit("m16", "d:ann:bob", bobMsg), "content", nil), "bad_request"),
		bad("edit with empty content", with(edit("m17", "d:ann:bob", bobMsg), "content", ""), "bad_request"),
		bad("edit without sessionId", with(edit("m18", "d:ann:bob", bobMsg), "sessionId", absent), "bad_request"),
		bad("react without messageId", with(react("m19", "d:ann:bob", bobMsg), "messageId", absent), "bad_request"),
		bad("react without emoji", with(react("m20", "d:ann:bob", bobMsg), "emoji", absent), "bad_request"),
		bad("react with empty emoji", with(react("m21", "d:ann:bob", bobMsg), "emoji", ""), "bad_request"),

		// Extra fields are ignored, and cannot forge what the server decides.
		{name: "extra fields", frame: with(typing("e1", "d:ann:bob"), "evil", map[string]any{"$where": "1"}, "__proto__", map[string]any{}),
			id: "e1", answer: "ok"},
		{name: "send forging seq, sender and ids", frame: with(snd("e2"), "seq", 999, "senderId", "bob", "serverTimestamp", 1, "messageId", bobMsg),
			id: "e2", answer: "sendAck", stored: 1, check: func(t *testing.T, e *env, f frame) {
				storedVerbatim("x", "cm-e2", "")(t, e, f)
				if f.Seq == 999 || f.MessageID == bobMsg || f.ServerTimestamp == 1 {
					t.Errorf("the client chose its seq, message id or timestamp: %s", f.raw)
				}
			}},
		bad("both sessionId and toUserId", with(snd("e3"), "toUserId", "bob"), "bad_request"),
		{name: "same clientMessageId, first", frame: with(snd("dup"), "content", "first"), id: "dup", answer: "sendAck", stored: 1,
			check: func(_ *testing.T, _ *env, f frame) { firstDup = f }},
		{name: "same clientMessageId, again", frame: with(snd("dup2"), "clientMessageId", "cm-dup", "content", "second"), id: "dup2",
			answer: "sendAck", check: func(t *testing.T, _ *env, f frame) {
				if !f.Duplicate || f.Seq != firstDup.Seq || f.MessageID != firstDup.MessageID {
					t.Errorf("repeated send %s, first %s", f.raw, firstDup.raw)
				}
			}},

		// Unknown types.
		bad("unknown type", map[string]any{"type": "dance", "id": "u1"}, "bad_request"),
		bad("type in capitals", with(snd("u2"), "type", "SEND"), "bad_request"),
		bad("empty type", map[string]any{"type": "", "id": "u3"}, "bad_request"),

		// Unknown and forbidden sessions.
		bad("sync of an unknown group", with(sync("s1"), "sessionId", "g:"+uuid.NewString()), "not_found"),
		bad("typing in an unknown direct session", typing("s2", "d:ann:zed"), "not_found"),
		bad("send to an unknown direct session by id", with(snd("s3"), "sessionId", "d:ann:zed"), "not_found"),
		bad("send to another's group", with(snd("s4"), "sessionId", carlGroup), "forbidden"),
		bad("sync of another's group", with(sync("s5"), "sessionId", carlGroup), "forbidden"),
		bad("ack in another's direct session", with(ack("s6"), "sessionId", "d:carl:dave"), "forbidden"),
		bad("typing in another's group", typing("s7", carlGroup), "forbidden"),

		// Malformed session ids.
		bad("session id without a prefix", typing("i1", "nope"), "bad_request"),
		bad("direct session id out of order", typing("i2", "d:bob:ann"), "bad_request"),
		bad("direct session with oneself", typing("i3", "d:ann:ann"), "bad_request"),
		bad("group id not a uuid", typing("i4", "g:NOT-A-UUID"), "bad_request"),
		bad("group id in capitals", typing("i5", "g:"+strings.ToUpper(uuid.NewString())), "bad_request"),
		bad("direct session id with three users", typing("i6", "d:ann:bob:carl"), "bad_request"),
		bad("session id of 10 KiB", typing("i7", "d:ann:"+strings.Repeat("b", 10<<10)), "bad_request"),
		bad("send to oneself", with(snd("i8"), "sessionId", absent, "toUserId", "ann"), "bad_request"),

		// Foreign message ids.
		bad("recall of the other member's message", recall("r1", "d:ann:bob", bobMsg), "forbidden"),
		bad("recall of another session's message", recall("r2", "d:ann:bob", carlMsg), "not_found"),
		bad("recall in another user's group", recall("r3", carlGroup, carlMsg), "forbidden"),
		bad("recall of an unknown message", recall("r4", "d:ann:bob", uuid.NewString()), "not_found"),
		bad("recall of a message id that is SQL", recall("r5", "d:ann:bob", sqlText), "not_found"),
		bad("edit of the other member's message", edit("r6", "d:ann:bob", bobMsg), "forbidden"),
		bad("edit of another session's message", edit("r7", "d:ann:bob", carlMsg), "not_found"),
		bad("edit in another user's group", edit("r8", carlGroup, carlMsg), "forbidden"),
		bad("edit of a message id that is SQL", edit("r9", "d:ann:bob", sqlText), "not_found"),
		bad("reaction to another session's message", react("r10", "d:ann:bob", carlMsg), "not_found"),
		bad("reaction in another user's group", react("r11", carlGroup, carlMsg), "forbidden"),
		bad("reaction to an unknown message", react("r12", "d:ann:bob", uuid.NewString()), "not_found"),
		bad("reply to another session's message", with(snd("r13"), "replyTo", carlMsg), "not_found"),
		bad("reply to a message id that is SQL", with(snd("r14"), "replyTo", sqlText), "not_found"),

		// SQL-like strings: stored verbatim where valid, refused where the id
		// format forbids them.
		{name: "SQL as content", frame: with(snd("q1"), "content", sqlText), id: "q1", answer: "sendAck", stored: 1,
			check: storedVerbatim(sqlText, "cm-q1", "")},
		{name: "SQL as clientMessageId", frame: with(snd("q2"), "clientMessageId", sqlText), id: "q2", answer: "sendAck", stored: 1,
			check: storedVerbatim("x", sqlText, "")},
		bad("SQL as session id", typing("q3", sqlText), "bad_request"),
		bad("SQL as toUserId", with(snd("q4"), "sessionId", absent, "toUserId", sqlText), "bad_request"),
		bad("toUserId with a space", with(snd("q5"), "sessionId", absent, "toUserId", "bob smith"), "bad_request"),
		bad("toUserId of 65 characters", with(snd("q6"), "sessionId", absent, "toUserId", long), "bad_request"),

		// Sizes.
		bad("content of 40 KiB", with(snd("l1"), "content", strings.Repeat("y", 40<<10)), "too_large"),
		bad("ext of 5 KiB", with(snd("l2"), "ext", map[string]any{"pad": strings.Repeat("p", 5<<10)}), "too_large"),
		bad("edit content of 40 KiB", with(edit("l5", "d:ann:bob", bobMsg), "content", strings.Repeat("y", 40<<10)), "too_large"),
		bad("emoji of 33 bytes", with(react("l6", "d:ann:bob", bobMsg), "emoji", strings.Repeat("e", 33)), "bad_request"),
		bad("emoji with a newline", with(react("l7", "d:ann:bob", bobMsg), "emoji", "a\nb"), "bad_request"),
		{name: "ext nested 1,500 deep within 4 KiB", frame: `{"type":"send","id":"l3","sessionId":"d:ann:bob","messageType":1,"content":"x","clientMessageId":"cm-l3","ext":{"a":` +
			nested(1500) + `}}`, id: "l3", answer: "sendAck", stored: 1, check: storedVerbatim("x", "cm-l3", `{"a":`+nested(1500)+`}`)},
		{name: "clientMessageId of 65 characters", frame: with(snd("l4"), "clientMessageId", long), id: "l4", code: "bad_request"},
		{name: "id of 65 characters", frame: typing(long, "d:ann:bob"), code: "bad_request"},
	}
}
