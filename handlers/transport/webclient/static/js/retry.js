// How long to wait before sending again what the server refused as
// overloaded. The server's hint (retryAfterMs, or Retry-After over HTTP) is a
// floor: the wait is the hint plus up to a quarter more at random, so that
// clients refused together do not all come back together. A hint that is
// missing counts as one second; one past 30 s counts as 30 s, so a bad hint
// cannot park a message for hours.

const defaultHintMs = 1000;
const minHintMs = 50;
const maxHintMs = 30000;

/** overloadDelay is the wait, in ms, after an overloaded answer carrying hintMs. */
export function overloadDelay(hintMs) {
  const hint = Number.isFinite(hintMs) && hintMs > 0 ? hintMs : defaultHintMs;
  const base = Math.min(maxHintMs, Math.max(minHintMs, hint));
  return Math.round(base * (1 + Math.random() / 4));
}

/** httpRetryHint reads the hint of a 503 overloaded answer: the body's retryAfterMs, else Retry-After in seconds. */
export function httpRetryHint(res, body) {
  if (Number.isFinite(body?.retryAfterMs)) return body.retryAfterMs;
  const seconds = Number(res.headers.get("Retry-After"));
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** sleep resolves after ms. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
