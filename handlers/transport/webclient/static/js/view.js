// Draws the model into the page. Rendering is batched to one pass per frame and
// rebuilds the session list and the open conversation; the composer is left
// alone so typing is never disturbed.

const $ = (id) => document.getElementById(id);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "background") node.style.background = v; // CSSOM: allowed by the page's CSP

    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

function clock(ms) {
  const d = new Date(ms);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleDateString();
}

/** quickEmoji are the reactions the message actions offer. */
const quickEmoji = ["👍", "❤️", "😂"];

const tickText = { pending: "◷", sent: "✓", delivered: "✓✓", read: "✓✓", failed: "!" };
const tickTitle = { pending: "Sending", sent: "Sent", delivered: "Delivered", read: "Read", failed: "Not sent" };

export class View {
  constructor(chat) {
    this.chat = chat;
    this.scheduled = false;
    this.stickToBottom = true;
    this.toastTimer = null;
    this.renderedSession = null;
    this.connState = { state: "connecting", text: "connecting…" };
    this.busyNote = false;
    $("messages-scroll").addEventListener("scroll", () => this.onScroll());
    $("load-older").addEventListener("click", () => this.loadOlder());
  }

  /** update asks for one render in the next frame. */
  update() {
    if (this.scheduled) return;
    this.scheduled = true;
    requestAnimationFrame(() => {
      this.scheduled = false;
      this.render();
    });
  }

  notice(text) {
    const t = $("toast");
    t.textContent = text;
    t.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { t.hidden = true; }, 5000);
  }

  status(state, text) {
    this.connState = { state, text };
    this.drawStatus();
  }

  /** busy shows or hides the quiet note that the server is refusing work for now and the client retries. */
  busy(shown) {
    this.busyNote = shown;
    this.drawStatus();
  }

  drawStatus() {
    const s = $("conn-status");
    const busy = this.busyNote && this.connState.state === "online";
    s.dataset.state = this.connState.state;
    s.dataset.busy = String(busy);
    s.textContent = busy ? "server busy, retrying…" : this.connState.text;
  }

  render() {
    this.renderSessions();
    this.renderSearch();
    this.renderConversation();
  }

  renderSessions() {
    const chat = this.chat;
    const items = chat.sortedSessions().map((s) => {
      const last = s.lastMessage;
      const preview = last ? (last.recalled ? "Message recalled" : last.erased ? "Message erased"
        : `${last.senderId === chat.me ? "You: " : ""}${last.content}`)
        : s.draft ? "New conversation" : "No messages yet";
      const name = chat.title(s);
      return el("li", { class: "session", "data-session-id": s.id, "aria-current": s.id === chat.openId ? "true" : "false",
        onclick: () => chat.open(s.id) },
        el("span", { class: "avatar", background: colour(name) }, (name[0] ?? "?")),
        el("div", { class: "body" },
          el("div", { class: "top" }, el("span", { class: "name" }, name), s.activity ? el("span", { class: "when" }, clock(s.activity)) : null),
          el("span", { class: "preview" }, preview)),
        s.unread > 0 ? el("span", { class: "badge", "aria-label": `${s.unread} unread` }, String(s.unread)) : null);
    });
    $("sessions").replaceChildren(...items);
  }

  renderConversation() {
    const chat = this.chat;
    const s = chat.current;
    const box = $("messages-scroll");
    $("empty-hint").hidden = !!s && (s.messages.size > 0 || s.pending.size > 0);
    $("composer-text").disabled = !s;
    $("send").disabled = !s;
    if (!s) return;
    $("empty-hint").textContent = s.draft ? `Say hello to ${chat.title(s)}.` : "No messages yet.";
    $("conv-title").textContent = chat.title(s);
    $("conv-sub").textContent = s.kind === "group" ? `${s.members.length} members: ${s.members.join(", ")}` : this.presenceText(chat.peerOf(s));
    this.renderComposing(s);
    const typing = chat.typingUsers(s);
    $("typing").textContent = typing.length ? `${typing.join(" and ")} ${typing.length > 1 ? "are" : "is"} typing…` : "";

    // Where the view stands is read before anything in it changes: the
    // button above the list takes room too.
    const switched = this.renderedSession !== s.id;
    this.renderedSession = s.id;
    const toBottom = switched || this.stickToBottom || box.scrollHeight - box.scrollTop - box.clientHeight < 60;
    const anchor = toBottom ? null : viewAnchor(box);
    $("load-older").hidden = !chat.hasOlder(s);
    $("messages").replaceChildren(...chat.timeline(s).map((m) => this.messageItem(s, m)));
    if (toBottom) box.scrollTop = box.scrollHeight;
    else if (anchor) keepAnchor(box, anchor);
    this.stickToBottom = false;
  }

  /** presenceText says whether a direct chat's peer is online, or when they were last seen. */
  presenceText(user) {
    const p = this.chat.presence.get(user);
    if (!p) return "Direct chat";
    if (p.online) return "online";
    return p.lastSeenAt ? `last seen ${clock(p.lastSeenAt)}` : "offline";
  }

  /** renderComposing shows what the composer's next message does: reply to or edit a message. */
  renderComposing(s) {
    const c = this.chat.composing?.sessionId === s.id ? this.chat.composing : null;
    const box = $("composing");
    box.hidden = !c;
    if (!c) return;
    const what = c.mode === "edit" ? "Editing" : `Replying to ${c.message.senderId}`;
    box.replaceChildren(el("span", { class: "composing-text" }, `${what}: ${c.message.content}`),
      el("button", { class: "link", type: "button", "aria-label": "Cancel", onclick: () => this.chat.compose(null) }, "✕"));
  }

  /** renderSearch shows the answer to the last search, each hit a way into its conversation. */
  renderSearch() {
    const r = this.chat.searchResults;
    const list = $("search-results");
    list.hidden = !r;
    if (!r) return;
    const items = r.results.map((hit) => el("li", { class: "hit", "data-session-id": hit.sessionId, "data-seq": hit.seq,
      onclick: () => this.chat.open(hit.sessionId) },
      el("span", { class: "hit-where" }, `${this.chat.title(this.chat.session(hit.sessionId))} · ${hit.senderId}`),
      el("span", { class: "hit-snippet" }, ...highlighted(hit.snippet))));
    list.replaceChildren(items.length ? el("li", { class: "hit-head" }, `${items.length} found for “${r.q}”`) : el("li", { class: "hit-head" }, `Nothing found for “${r.q}”`), ...items);
  }

  messageItem(s, m) {
    const chat = this.chat;
    const own = m.senderId === chat.me;
    const status = own ? chat.tickStatus(s, m) : null;
    const text = m.recalled
      ? el("p", { class: "text recalled" }, own ? "You recalled this message" : "Message recalled")
      : m.erased ? el("p", { class: "text recalled" }, "Message erased")
      : el("p", { class: "text" }, m.content);
    const quoted = m.replyTo ? chat.messageById(s, m.replyTo) : null;
    const quote = m.replyTo ? el("p", { class: "reply-quote" }, quoted
      ? `${quoted.senderId}: ${quoted.recalled ? "Message recalled" : quoted.erased ? "Message erased" : quoted.content}` : "a message further up") : null;
    const readBy = own && s.kind === "group" ? chat.readBy(s, m) : 0;
    const held = m.seq !== undefined && !m.recalled;
    const reactions = held && m.reactions ? el("div", { class: "reactions" },
      ...Object.entries(m.reactions).map(([emoji, users]) => el("button", { class: "reaction", type: "button",
        "data-emoji": emoji, "aria-pressed": users.includes(chat.me) ? "true" : "false", title: users.join(", "),
        onclick: () => chat.react(s, m, emoji) }, `${emoji} ${users.length}`))) : null;
    const actions = held ? el("span", { class: "actions" },
      el("button", { class: "action reply", type: "button", onclick: () => { chat.compose("reply", s, m); $("composer-text").focus(); } }, "Reply"),
      ...quickEmoji.map((emoji) => el("button", { class: "action react", type: "button", "data-emoji": emoji,
        onclick: () => chat.react(s, m, emoji) }, emoji)),
      own && chat.canEdit(m) ? el("button", { class: "action edit", type: "button", onclick: () => {
        chat.compose("edit", s, m);
        $("composer-text").value = m.content;
        $("composer-text").focus();
      } }, "Edit") : null) : null;
    const meta = el("span", { class: "meta" },
      actions,
      m.editedAt && !m.recalled ? el("span", { class: "edited" }, "edited") : null,
      readBy > 0 ? el("span", { class: "readby" }, `read by ${readBy}`) : null,
      own && chat.canRecall(m) ? el("button", { class: "recall", type: "button", onclick: () => chat.recall(s, m) }, "Recall") : null,
      status === "failed" ? el("button", { class: "recall retry", type: "button", title: m.error, onclick: () => chat.retry(s, m.clientMessageId) }, "Retry") : null,
      el("time", {}, clock(m.adjustedTimestamp ?? m.clientTimestamp)),
      own ? el("span", { class: "ticks", "data-status": status, title: tickTitle[status] }, tickText[status]) : null);
    return el("li", { class: `msg${own ? " own" : ""}`, "data-seq": m.seq, "data-client-message-id": m.clientMessageId,
      "data-key": messageKey(m) },
      el("div", { class: "bubble" },
        !own && s.kind === "group" ? el("span", { class: "sender" }, m.senderId) : null,
        quote, text, reactions, meta));
  }

  onScroll() {
    if ($("messages-scroll").scrollTop < 40) this.loadOlder();
  }

  async loadOlder() {
    const s = this.chat.current;
    if (!s || s.loadingOlder || !this.chat.hasOlder(s)) return;
    try {
      await this.chat.loadOlder(s);
    } catch (err) {
      this.notice(`Could not load older messages: ${err.message}`);
    }
  }

  /** sent keeps the view at the newest message after the user sends. */
  sent() { this.stickToBottom = true; }
}

/**
 * highlighted turns a search snippet into text nodes and <mark> elements: the
 * server encloses each match in [[ and ]] and leaves the text otherwise as the
 * message has it, so nothing of it is read as HTML.
 */
function highlighted(snippet) {
  return snippet.split("[[").flatMap((part, i) => {
    if (i === 0) return [part];
    const end = part.indexOf("]]");
    if (end < 0) return ["[[" + part];
    return [el("mark", {}, part.slice(0, end)), part.slice(end + 2)];
  });
}

/** messageKey names a message across renders: its seq once it has one, else its clientMessageId. */
function messageKey(m) {
  return m.seq !== undefined ? `s${m.seq}` : `c${m.clientMessageId}`;
}

/**
 * viewAnchor is the first message at least partly in view and how far its top
 * is from the top of the view. The list is rebuilt on every render, which
 * defeats the browser's own scroll anchoring, so the view keeps it itself:
 * older messages loaded above, or the button above the list going away, leave
 * what the user is looking at (and pointing at) where it was.
 */
function viewAnchor(box) {
  const top = box.getBoundingClientRect().top;
  for (const li of $("messages").children) {
    const r = li.getBoundingClientRect();
    if (r.bottom > top) return { key: li.dataset.key, offset: r.top - top };
  }
  return null;
}

/** keepAnchor scrolls so that the anchor's message is again where it was. */
function keepAnchor(box, anchor) {
  const li = [...$("messages").children].find((n) => n.dataset.key === anchor.key);
  if (li) box.scrollTop += li.getBoundingClientRect().top - box.getBoundingClientRect().top - anchor.offset;
}

/** colour picks a stable avatar colour for a name. */
function colour(name) {
  let h = 0;
  for (const c of name) h = (h * 31 + c.codePointAt(0)) % 360;
  return `hsl(${h} 55% 48%)`;
}
