// The client's model of the user's conversations, kept in step with the server
// over the wire contract. Messages are keyed by (sessionId, seq), so a message
// that arrives twice (a push and a sync after a reconnect, a redelivery) is
// held once; seqs have no gaps, so a push past the next seq means some were
// missed and a sync fetches them.

import { Outbox } from "./outbox.js";
import { directSessionId, newSession, validUserId } from "./session.js";

const pageSize = 30;
const syncLimit = 100;
const maxSyncPages = 10;
const typingShownMs = 4000;
const typingSendEveryMs = 3000;
const ackDelayMs = 100;
const retryDelayMs = 3000;
const temporaryCodes = new Set(["unavailable", "rate_limited", "conflict"]);

export class Chat {
  constructor({ me, api, connection, recallWindowMs, editWindowMs, storage, onChange, onNotice }) {
    Object.assign(this, { me, api, connection, recallWindowMs, editWindowMs, storage, onChange, onNotice });
    // presence holds what the server said of other users: {online, lastSeenAt}.
    this.presence = new Map();
    // composing is what the composer's next Enter does besides sending:
    // {mode: "reply" | "edit", sessionId, message}, or null.
    this.composing = null;
    this.searchResults = null;
    this.sessions = new Map();
    this.openId = null;
    this.listed = false;
    this.receiptsKey = `tellyou.receipts.${me}`;
    this.receipts = JSON.parse(storage.getItem(this.receiptsKey) ?? "{}");
    this.outbox = new Outbox(this);
  }

  changed() { this.onChange(); }

  session(id) {
    let s = this.sessions.get(id);
    if (!s) {
      s = newSession(id, this.me);
      this.sessions.set(id, s);
    }
    return s;
  }

  get current() { return this.openId ? this.sessions.get(this.openId) : null; }

  peerOf(s) { return s.kind === "direct" ? s.members.find((u) => u !== this.me) ?? "" : ""; }

  title(s) { return s.kind === "direct" ? this.peerOf(s) : s.title || "Group"; }

  sortedSessions() {
    return [...this.sessions.values()].sort((a, b) => b.activity - a.activity || a.order - b.order);
  }

  seqs(s) { return [...s.messages.keys()]; }

  maxSeq(s) { return s.messages.size ? Math.max(...this.seqs(s)) : 0; }

  minSeq(s) { return s.messages.size ? Math.min(...this.seqs(s)) : 0; }

  hasOlder(s) { return !s.draft && (s.messages.size ? this.minSeq(s) > 1 : s.lastSeq > 0); }

  /** timeline is the open session's messages by seq, then the ones not yet acked. */
  timeline(s) {
    const held = [...s.messages.values()].sort((a, b) => a.seq - b.seq);
    return [...held, ...s.pending.values()];
  }

  readable(s) { return s.id === this.openId && document.visibilityState === "visible"; }

  // ---- what the server says -------------------------------------------------

  /** refreshSessions merges GET /v1/sessions into the model. */
  async refreshSessions() {
    const { sessions } = await this.api.sessions();
    sessions.forEach((item, i) => {
      const s = this.session(item.sessionId);
      Object.assign(s, { kind: item.kind, title: item.title, owner: item.owner, members: item.members, order: i, draft: false, listed: true });
      s.lastSeq = Math.max(s.lastSeq, item.lastSeq);
      if (item.lastMessage && (!s.lastMessage || item.lastMessage.seq >= s.lastMessage.seq)) s.lastMessage = item.lastMessage;
      s.receivedSeq = Math.max(s.receivedSeq, item.receivedSeq);
      s.readSeq = Math.max(s.readSeq, item.readSeq);
      s.unread = this.unreadAfterList(s, item);
      const seen = item.lastMessage ? item.lastMessage.serverTimestamp : this.listed ? Date.now() : 0;
      s.activity = Math.max(s.activity, seen);
    });
    this.listed = true;
    this.changed();
  }

  /**
   * unreadAfterList is the unread count of a session given its list entry.
   * When this client holds every message after the read watermark it counts
   * them itself: the entry's count and lastSeq come from two read models that
   * may trail the log by different amounts. Otherwise the entry's count
   * stands, plus what was pushed past its lastSeq.
   */
  unreadAfterList(s, item) {
    const counts = (m) => m.senderId !== this.me && !m.recalled && m.seq > s.readSeq;
    const held = [...s.messages.values()];
    if (this.readable(s)) {
      s.countedSeq = Math.max(s.countedSeq, item.lastSeq);
      return 0;
    }
    if (held.length && this.minSeq(s) <= s.readSeq + 1) {
      return held.filter(counts).length; // later seqs are counted as they arrive
    }
    s.countedSeq = Math.max(s.countedSeq, item.lastSeq);
    return item.unreadCount + held.filter((m) => m.seq > item.lastSeq && counts(m)).length;
  }

  /** addMessages holds messages by seq and returns how many were new. */
  addMessages(s, list) {
    let fresh = 0;
    for (const m of list) {
      const held = s.messages.get(m.seq);
      if (held) {
        if (m.recalled && !held.recalled) Object.assign(held, { recalled: true, content: "", reactions: undefined });
        // An erasure (of the sender, or of the content's key) reaches copies already held.
        if (m.erased && !held.erased) Object.assign(held, { erased: true, content: "", ext: null });
        // A page read later knows of later edits and reactions.
        if (!held.recalled && (m.editedAt ?? 0) > (held.editedAt ?? 0)) Object.assign(held, { content: m.content, editedAt: m.editedAt });
        if (m.reactions !== undefined && !held.recalled) held.reactions = m.reactions;
        continue;
      }
      fresh++;
      s.messages.set(m.seq, m);
      if (m.senderId === this.me) s.pending.delete(m.clientMessageId);
      else s.typing.delete(m.senderId);
      s.lastSeq = Math.max(s.lastSeq, m.seq);
      if (!s.lastMessage || m.seq >= s.lastMessage.seq) s.lastMessage = m;
      s.activity = Math.max(s.activity, m.serverTimestamp);
      if (m.seq > s.countedSeq) {
        s.countedSeq = m.seq;
        if (m.senderId !== this.me && !m.recalled && m.seq > s.readSeq && !this.readable(s)) s.unread++;
      }
    }
    if (fresh) {
      this.scheduleAck(s);
      this.changed();
    }
    return fresh;
  }

  /** syncFrom fetches what follows afterSeq with `sync` frames. */
  async syncFrom(s, afterSeq) {
    for (let page = 0; page < maxSyncPages; page++) {
      const answer = await this.connection.request({ type: "sync", sessionId: s.id, afterSeq, limit: syncLimit });
      this.addMessages(s, answer.messages);
      s.lastSeq = Math.max(s.lastSeq, answer.lastSeq);
      if (!answer.hasMore) return;
      if (!answer.messages.length) {
        // The server knows of later messages its history has not caught up
        // with yet: ask again shortly.
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      afterSeq = answer.messages[answer.messages.length - 1].seq;
    }
  }

  /** resync runs on every (re)connect: the session list, then each session from the last seq held. */
  async resync() {
    try {
      await this.refreshSessions();
    } catch (err) {
      this.onNotice(`Could not load conversations: ${err.message}`);
    }
    this.outbox.resendAll();
    await Promise.all([...this.sessions.values()].filter((s) => !s.draft).map(async (s) => {
      const from = s.messages.size ? this.maxSeq(s) : s.lastSeq > s.receivedSeq ? s.receivedSeq : null;
      if (from === null) return;
      try {
        await this.syncFrom(s, from);
      } catch (err) {
        if (err.code !== "unavailable") this.onNotice(`Could not sync ${this.title(s)}: ${err.message}`);
      }
    }));
  }

  handleFrame(f) {
    switch (f.type) {
      case "message": return this.onMessage(f.message);
      case "recalled": return this.onRecalled(f);
      case "receipt": return this.onReceipt(f);
      case "typing": return this.onTyping(f);
      case "edited": return this.onEdited(f);
      case "reaction": return this.onReaction(f);
      case "presence": return this.onPresence(f);
      // An overloaded answer to a frame without id (typing) took nothing
      // that matters: no one needs to hear of it.
      case "error": return f.code === "overloaded" ? undefined : this.onNotice(f.message);
      default: return undefined; // ok frames and frames of later versions
    }
  }

  onMessage(m) {
    const known = this.sessions.has(m.sessionId);
    const s = this.session(m.sessionId);
    const top = this.maxSeq(s);
    this.addMessages(s, [m]);
    if (top && m.seq > top + 1) this.syncFrom(s, top).catch(() => {}); // missed some: fetch the gap
    if (!known || !s.listed) this.refreshUntilListed(s).catch(() => {});
  }

  /**
   * refreshUntilListed reloads the session list until it holds s: a message
   * can be pushed before the session list's read model has the session.
   */
  async refreshUntilListed(s) {
    if (s.refreshing) return;
    s.refreshing = true;
    try {
      for (let attempt = 0; attempt < 60 && !s.listed; attempt++) {
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 500));
        await this.refreshSessions();
      }
    } finally {
      s.refreshing = false;
    }
  }

  onRecalled(f) {
    const s = this.sessions.get(f.sessionId);
    if (!s) return;
    const m = s.messages.get(f.seq);
    const wasRecalled = m?.recalled;
    if (m) Object.assign(m, { recalled: true, content: "" });
    if (s.lastMessage?.seq === f.seq) s.lastMessage = { ...s.lastMessage, recalled: true, content: "" };
    if (!wasRecalled && f.by !== this.me && f.seq > s.readSeq && f.seq <= s.countedSeq && s.unread > 0) s.unread--;
    this.changed();
  }

  onReceipt(f) {
    const bySession = (this.receipts[f.sessionId] ??= {});
    const w = (bySession[f.userId] ??= { received: 0, read: 0 });
    if (f.ackType === "read") w.read = Math.max(w.read, f.seq);
    w.received = Math.max(w.received, f.seq);
    this.storage.setItem(this.receiptsKey, JSON.stringify(this.receipts));
    this.changed();
  }

  onEdited(f) {
    const m = this.sessions.get(f.sessionId)?.messages.get(f.seq);
    if (!m || m.recalled || (m.editedAt ?? 0) >= f.editedAt) return;
    Object.assign(m, { content: f.content, editedAt: f.editedAt });
    const s = this.sessions.get(f.sessionId);
    if (s.lastMessage?.seq === f.seq) s.lastMessage = { ...s.lastMessage, content: f.content, editedAt: f.editedAt };
    this.changed();
  }

  onReaction(f) {
    const m = this.sessions.get(f.sessionId)?.messages.get(f.seq);
    if (!m || m.recalled) return;
    const reactions = { ...(m.reactions ?? {}) };
    const users = (reactions[f.emoji] ?? []).filter((u) => u !== f.userId);
    if (!f.removed) users.push(f.userId);
    if (users.length) reactions[f.emoji] = users;
    else delete reactions[f.emoji];
    m.reactions = Object.keys(reactions).length ? reactions : undefined;
    this.changed();
  }

  onPresence(f) {
    this.presence.set(f.userId, { online: f.online, lastSeenAt: f.lastSeenAt ?? 0 });
    this.changed();
  }

  /**
   * loadMembers asks the server where every member of s stands: their
   * watermarks become receipts (groups of more than 100 members get no
   * receipt pushes, and a reloaded page has none), their presence is kept.
   */
  async loadMembers(s) {
    if (s.draft) return;
    const members = await this.api.members(s.id);
    const bySession = (this.receipts[s.id] ??= {});
    for (const m of members) {
      const w = (bySession[m.userId] ??= { received: 0, read: 0 });
      w.received = Math.max(w.received, m.receivedSeq);
      w.read = Math.max(w.read, m.readSeq);
      if (m.userId !== this.me) this.presence.set(m.userId, { online: m.online, lastSeenAt: m.lastSeenAt ?? 0 });
    }
    this.storage.setItem(this.receiptsKey, JSON.stringify(this.receipts));
    this.changed();
  }

  /** readBy is how many other members have read message m of s. */
  readBy(s, m) {
    if (m.seq === undefined) return 0;
    return s.members.filter((u) => u !== this.me && (this.receipts[s.id]?.[u]?.read ?? 0) >= m.seq).length;
  }

  /** messageById finds a held message of s by its id. */
  messageById(s, id) {
    for (const m of s.messages.values()) if (m.messageId === id) return m;
    return null;
  }

  onTyping(f) {
    const s = this.sessions.get(f.sessionId);
    if (!s || f.userId === this.me) return;
    s.typing.set(f.userId, Date.now() + typingShownMs);
    setTimeout(() => this.changed(), typingShownMs + 50);
    this.changed();
  }

  typingUsers(s) {
    const now = Date.now();
    return [...s.typing].filter(([, until]) => until > now).map(([user]) => user);
  }

  /** tickStatus is what the sender knows of one own message: sent, delivered or read by every other member. */
  tickStatus(s, m) {
    if (m.seq === undefined) return m.status; // pending or failed
    const others = s.members.filter((u) => u !== this.me);
    if (!others.length) return "sent";
    const marks = others.map((u) => this.receipts[s.id]?.[u] ?? { received: 0, read: 0 });
    if (marks.every((w) => w.read >= m.seq)) return "read";
    if (marks.every((w) => w.received >= m.seq)) return "delivered";
    return "sent";
  }

  // ---- what the user does ---------------------------------------------------

  async open(id) {
    const s = this.session(id);
    this.openId = id;
    this.changed();
    if (!s.draft && !s.opened) {
      s.opened = true;
      this.loadMembers(s).catch(() => {}); // receipts and presence: nice to have, never in the way
      try {
        if (s.messages.size < pageSize) await this.loadOlder(s);
        await this.syncFrom(s, this.maxSeq(s));
      } catch (err) {
        if (err.code !== "unavailable") this.onNotice(`Could not load ${this.title(s)}: ${err.message}`);
      }
    }
    this.scheduleAck(s);
  }

  async loadOlder(s) {
    if (s.loadingOlder || !this.hasOlder(s)) return 0;
    s.loadingOlder = true;
    try {
      const before = s.messages.size ? this.minSeq(s) : s.lastSeq + 1;
      const page = await this.api.olderMessages(s.id, before, pageSize);
      s.lastSeq = Math.max(s.lastSeq, page.lastSeq);
      return this.addMessages(s, page.messages);
    } finally {
      s.loadingOlder = false;
    }
  }

  /** startDirect opens the direct session with a user; it comes into being with the first message. */
  startDirect(user) {
    if (!validUserId(user)) throw new Error("A user name is 1-64 characters of A-Z a-z 0-9 . _ -");
    if (user === this.me) throw new Error("You cannot chat with yourself");
    const id = directSessionId(this.me, user);
    if (!this.sessions.has(id)) {
      const s = this.session(id);
      Object.assign(s, { draft: true, activity: Date.now(), order: -1 });
    }
    return this.open(id);
  }

  async createGroup(title, members) {
    const bad = members.find((u) => !validUserId(u));
    if (bad !== undefined) throw new Error(`"${bad}" is not a user name`);
    const item = await this.api.createGroup(title, members);
    const s = this.session(item.sessionId);
    Object.assign(s, { kind: item.kind, title: item.title, owner: item.owner, members: item.members, activity: Date.now() });
    await this.open(s.id);
  }

  /**
   * send queues a message for s; it shows as pending until the server takes
   * it. While the composer is replying, the message answers that one; while
   * it is editing, the text replaces that message's instead.
   */
  send(s, content) {
    const c = this.composing?.sessionId === s.id ? this.composing : null;
    this.composing = null;
    if (c?.mode === "edit") return this.edit(s, c.message, content);
    this.outbox.send(s, content, c?.mode === "reply" ? c.message.messageId : undefined);
    return undefined;
  }

  /** compose sets what the composer's next message does (reply to or edit m), or clears it. */
  compose(mode, s, m) {
    this.composing = mode ? { mode, sessionId: s.id, message: m } : null;
    this.changed();
  }

  canEdit(m) {
    return m.senderId === this.me && m.seq !== undefined && !m.recalled && Date.now() - m.serverTimestamp < this.editWindowMs;
  }

  async edit(s, m, content) {
    if (content === m.content) return;
    try {
      await this.connection.request({ type: "edit", sessionId: s.id, messageId: m.messageId, content });
      this.onEdited({ sessionId: s.id, seq: m.seq, messageId: m.messageId, content, editedAt: Date.now() });
    } catch (err) {
      this.onNotice(`Could not edit: ${err.message}`);
    }
  }

  /** react adds the user's emoji reaction to m, or takes it back when it is there. */
  async react(s, m, emoji) {
    const remove = (m.reactions?.[emoji] ?? []).includes(this.me);
    try {
      await this.connection.request({ type: "react", sessionId: s.id, messageId: m.messageId, emoji, remove });
      this.onReaction({ sessionId: s.id, seq: m.seq, messageId: m.messageId, userId: this.me, emoji, removed: remove });
    } catch (err) {
      this.onNotice(`Could not react: ${err.message}`);
    }
  }

  /** search asks the server for messages matching q in every conversation of the user. */
  async search(q) {
    if (!q) {
      this.searchResults = null;
    } else {
      const answer = await this.api.search(q);
      this.searchResults = { q, results: answer.results };
    }
    this.changed();
  }

  /** retry queues again a message the server refused for good (the user asked). */
  retry(s, clientMessageId) { this.outbox.retry(s, clientMessageId); }

  canRecall(m) {
    return m.senderId === this.me && m.seq !== undefined && !m.recalled && Date.now() - m.serverTimestamp < this.recallWindowMs;
  }

  async recall(s, m) {
    try {
      await this.connection.request({ type: "recall", sessionId: s.id, messageId: m.messageId });
      this.onRecalled({ sessionId: s.id, messageId: m.messageId, seq: m.seq, by: this.me });
    } catch (err) {
      this.onNotice(`Could not recall: ${err.message}`);
    }
  }

  /** typed tells the others the user is typing, at most every few seconds. */
  typed(s) {
    const now = Date.now();
    if (s.draft || now - s.lastTypingSent < typingSendEveryMs) return;
    if (this.connection.send({ type: "typing", sessionId: s.id })) s.lastTypingSent = now;
  }

  // ---- acks -----------------------------------------------------------------

  scheduleAck(s) {
    clearTimeout(s.ackTimer);
    s.ackTimer = setTimeout(() => this.sendAck(s), ackDelayMs);
  }

  /** sendAck acks everything held: read when the session is open and visible, else received. */
  sendAck(s) {
    if (s.draft || !this.connection.open) return;
    const fromOthers = [...s.messages.values()].filter((m) => m.senderId !== this.me).map((m) => m.seq);
    if (!fromOthers.length) return;
    const top = this.maxSeq(s);
    const before = { readSeq: s.readSeq, receivedSeq: s.receivedSeq };
    // A refused or lost ack is taken back, so that a later one covers it.
    const ack = (ackType) => this.connection.request({ type: "ack", sessionId: s.id, seq: top, ackType }).catch((err) => {
      if (s.readSeq === top && ackType === "read") s.readSeq = before.readSeq;
      if (s.receivedSeq === top) s.receivedSeq = before.receivedSeq;
      if (temporaryCodes.has(err.code)) setTimeout(() => this.scheduleAck(s), retryDelayMs);
      else this.onNotice(`Ack refused: ${err.message}`);
    });
    if (this.readable(s)) {
      if (Math.max(...fromOthers) > s.readSeq || s.unread) {
        s.readSeq = Math.max(s.readSeq, top);
        s.receivedSeq = Math.max(s.receivedSeq, top);
        s.unread = 0;
        ack("read");
        this.changed();
      }
    } else if (Math.max(...fromOthers) > s.receivedSeq) {
      s.receivedSeq = top;
      ack("received");
    }
  }
}
