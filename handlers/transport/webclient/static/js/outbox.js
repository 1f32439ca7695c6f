// The user's messages on their way to the server. A message is pending from
// the moment it is written until its sendAck; it is sent, and sent again
// after a refusal the server lifts later or a reconnect, with the same
// clientMessageId, so the server stores it once. Each conversation sends its
// messages one at a time in the order they were written: a later one never
// overtakes one the server has not taken yet.

const retryDelayMs = 3000;
const temporaryCodes = new Set(["unavailable", "rate_limited", "conflict"]);

export class Outbox {
  /** @param {import("./chat.js").Chat} chat the model the sent messages join */
  constructor(chat) {
    this.chat = chat;
  }

  send(s, content, replyTo) {
    const p = {
      clientMessageId: crypto.randomUUID(), sessionId: s.id, senderId: this.chat.me, content, replyTo,
      clientTimestamp: Date.now(), status: "pending", inflight: false, retryTimer: null,
    };
    s.pending.set(p.clientMessageId, p);
    s.activity = Date.now();
    s.lastTypingSent = 0; // the others stop showing "typing" on this message: announce the next one at once
    this.chat.changed();
    this.pump(s);
  }

  /**
   * pump sends the session's next pending message. A session has at most one
   * send in flight, taken in the order they were written, so a send the
   * server did not take yet (overloaded, which the connection sends again
   * itself, or unavailable, rate_limited, conflict) holds back every later
   * one: none overtakes it. A failed send (refused for good) does not hold
   * the others back.
   */
  pump(s) {
    if (!this.chat.connection.open) return;
    for (const p of s.pending.values()) {
      if (p.inflight) return;
      if (p.status !== "pending") continue;
      if (!p.retryTimer) this.transmit(s, p);
      return;
    }
  }

  /** transmit sends (or sends again: the clientMessageId makes that safe) one pending message. */
  transmit(s, p) {
    p.inflight = true;
    const frame = { type: "send", messageType: 1, content: p.content, clientMessageId: p.clientMessageId, clientTimestamp: p.clientTimestamp };
    if (p.replyTo) frame.replyTo = p.replyTo;
    if (s.draft) frame.toUserId = this.chat.peerOf(s);
    else frame.sessionId = s.id;
    this.chat.connection.request(frame).then((ack) => {
      p.inflight = false;
      s.draft = false;
      this.chat.addMessages(s, [{
        messageId: ack.messageId, sessionId: ack.sessionId, seq: ack.seq, senderId: this.chat.me, messageType: 1,
        content: p.content, ext: null, clientMessageId: p.clientMessageId, clientTimestamp: p.clientTimestamp,
        serverTimestamp: ack.serverTimestamp, adjustedTimestamp: ack.adjustedTimestamp, recalled: false,
        replyTo: p.replyTo,
      }]);
      s.pending.delete(p.clientMessageId);
      this.chat.changed();
      this.pump(s);
    }, (err) => {
      p.inflight = false;
      if (temporaryCodes.has(err.code)) {
        // Sent again after a pause while the connection is up, else on reconnect.
        if (this.chat.connection.open) {
          p.retryTimer = setTimeout(() => {
            p.retryTimer = null;
            this.pump(s);
          }, retryDelayMs);
        }
        return;
      }
      Object.assign(p, { status: "failed", error: err.message });
      this.chat.onNotice(`Not sent: ${err.message}`);
      this.chat.changed();
      this.pump(s);
    });
  }

  /** resendAll runs on (re)connect: every session's sends start again from the oldest pending. */
  resendAll() {
    for (const s of this.chat.sessions.values()) {
      for (const p of s.pending.values()) {
        clearTimeout(p.retryTimer);
        p.retryTimer = null;
      }
      this.pump(s);
    }
  }

  retry(s, clientMessageId) {
    const p = s.pending.get(clientMessageId);
    if (!p) return;
    Object.assign(p, { status: "pending", error: "" });
    this.chat.changed();
    this.pump(s);
  }
}
