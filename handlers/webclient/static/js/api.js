// HTTP side of the wire contract: JSON in and out, errors as {code, message}.

/** ApiError is a refused request: `code` is the wire error code. */
export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** request sends one HTTP request and returns the decoded JSON answer. */
export async function request(method, path, { token, body } = {}) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  } catch (err) {
    throw new ApiError(0, "unavailable", `the server cannot be reached (${err.message})`);
  }
  const answer = await res.json().catch(() => null);
  if (!res.ok) {
    throw new ApiError(res.status, answer?.code ?? "internal", answer?.message ?? `HTTP ${res.status}`);
  }
  return answer;
}

/** Api calls the HTTP API as one signed-in user. */
export class Api {
  constructor(tokenSource, onUnauthorized) {
    this.tokenSource = tokenSource;
    this.onUnauthorized = onUnauthorized;
  }

  async call(method, path, body) {
    try {
      return await request(method, path, { token: this.tokenSource(), body });
    } catch (err) {
      if (err.status === 401) this.onUnauthorized(err);
      throw err;
    }
  }

  sessions() { return this.call("GET", "/v1/sessions"); }

  createGroup(title, members) { return this.call("POST", "/v1/sessions", { title, members }); }

  /** olderMessages returns up to `limit` messages just below `beforeSeq`, ascending. */
  olderMessages(sessionId, beforeSeq, limit) {
    return this.call("GET", `/v1/sessions/${encodeURIComponent(sessionId)}/messages?beforeSeq=${beforeSeq}&limit=${limit}`);
  }
}
