// Session ids and the shape of one conversation as the client holds it.

/** directSessionId is the id of the direct session of two users (byte order). */
export function directSessionId(a, b) {
  return a < b ? `d:${a}:${b}` : `d:${b}:${a}`;
}

/** validUserId mirrors the server's rule: 1-64 of A-Z a-z 0-9 . _ - */
export function validUserId(id) {
  return /^[A-Za-z0-9._-]{1,64}$/.test(id);
}

/** newSession is a conversation known by its id only, until the session list or a message says more. */
export function newSession(id, me) {
  const direct = id.startsWith("d:");
  return {
    id, kind: direct ? "direct" : "group", title: "", owner: "",
    members: direct ? id.slice(2).split(":") : [me],
    lastSeq: 0, lastMessage: null, receivedSeq: 0, readSeq: 0,
    unread: 0, countedSeq: 0, activity: 0, order: Number.MAX_SAFE_INTEGER,
    messages: new Map(), pending: new Map(), draft: false, opened: false, loadingOlder: false,
    typing: new Map(), lastTypingSent: 0, ackTimer: null,
  };
}
