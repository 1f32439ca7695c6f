// HTTP side of the wire contract: JSON in and out, errors as {code, message}.
// A 503 `overloaded` answer took nothing: the request goes again after the
// server's hint (see retry.js), at most overloadRetries times, and only then
// does the caller see the error.

import { httpRetryHint, overloadDelay, sleep } from "./retry.js";

const overloadRetries = 3;

/** ApiError is a refused request: `code` is the wire error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * request sends one HTTP request and returns the decoded JSON answer. `busy`
 * (a Busy, optional) is told while the request waits out an overloaded server.
 */
export async function request(method, path, { token, body, busy } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const payload = body === undefined ? undefined : JSON.stringify(body);
  let release = null;
  try {
    for (let attempt = 0; ; attempt++) {
      let res;
      try {
        res = await fetch(path, { method, headers, body: payload });
      } catch (err) {
        throw new ApiError(0, "unavailable", `the server cannot be reached (${err.message})`);
      }
      const answer = await res.json().catch(() => null);
      if (res.ok) return answer;
      const code = answer?.code ?? "internal";
      if (code !== "overloaded" || attempt === overloadRetries) {
        throw new ApiError(res.status, code, answer?.message ?? `HTTP ${res.status}`);
      }
      release ??= busy?.hold();
      await sleep(overloadDelay(httpRetryHint(res, answer)));
    }
  } finally {
    release?.();
  }
}

/** Api calls the HTTP API as one signed-in user. */
export class Api {
  constructor(tokenSource, onUnauthorized, busy) {
    this.tokenSource = tokenSource;
    this.onUnauthorized = onUnauthorized;
    this.busy = busy;
  }

  async call(method, path, body) {
    try {
      return await request(method, path, { token: this.tokenSource(), body, busy: this.busy });
    } catch (err) {
      if (err.status === 401) this.onUnauthorized(err);
      throw err;
    }
  }

  sessions() { return this.call("GET", "/v1/sessions"); }

  createGroup(title, members) { return this.call("POST", "/v1/sessions", { title, members }); }

  /** members answers where every member of a session stands: [{userId, role, receivedSeq, readSeq, online, lastSeenAt}]. */
  members(sessionId) { return this.call("GET", `/v1/sessions/${encodeURIComponent(sessionId)}/members`); }

  /** search finds messages of the user's conversations matching q. */
  search(q) { return this.call("GET", `/v1/search?q=${encodeURIComponent(q)}&limit=20`); }

  /** olderMessages returns up to `limit` messages just below `beforeSeq`, ascending. */
  olderMessages(sessionId, beforeSeq, limit) {
    return this.call("GET", `/v1/sessions/${encodeURIComponent(sessionId)}/messages?beforeSeq=${beforeSeq}&limit=${limit}`);
  }
}
