// One WebSocket to /v1/ws that comes back by itself: after a drop it reconnects
// with exponential backoff and jitter, and tells its owner (onOpen) so that it
// can sync what it missed. A frame the server answers `overloaded` was not
// taken: the connection sends the same frame again after the server's
// retryAfterMs (see retry.js), as often as it takes while the socket stays up,
// and the caller only ever sees the answer to the frame that was taken.

import { overloadDelay } from "./retry.js";

const requestTimeoutMs = 15000;
const minBackoffMs = 500;
const maxBackoffMs = 15000;

/** FrameError is an `error` frame answering one of ours. */
export class FrameError extends Error {
  constructor(frame) {
    super(frame.message);
    this.code = frame.code;
    this.retryAfterMs = frame.retryAfterMs;
  }
}

export class Connection {
  /**
   * @param {() => string} url the WebSocket URL, token included, asked anew each time
   * @param {{onOpen: () => void, onFrame: (f: object) => void, onStatus: (state: string, detail: string) => void,
   *          onClose: (code: number) => boolean}} hooks onClose returns false to stop reconnecting
   * @param {import("./busy.js").Busy} busy told about frames held back by an overloaded server
   */
  constructor(url, hooks, busy) {
    this.url = url;
    this.hooks = hooks;
    this.busy = busy;
    this.ws = null;
    this.attempt = 0;
    this.nextId = 1;
    this.waiting = new Map(); // frame id -> {answer, fail, timer}: sent, not answered yet
    this.delayed = new Map(); // frame id -> {fail, timer}: refused as overloaded, to be sent again
    this.stopped = false;
    this.retryTimer = null;
  }

  get open() { return this.ws?.readyState === WebSocket.OPEN; }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.ws?.close(1000, "signed out");
  }

  connect() {
    this.hooks.onStatus("connecting", "connecting…");
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      this.hooks.onStatus("online", "online");
      this.hooks.onOpen();
    };
    ws.onmessage = (ev) => {
      let frame;
      try { frame = JSON.parse(ev.data); } catch { return; }
      const pending = frame.id && this.waiting.get(frame.id);
      if (pending) {
        this.waiting.delete(frame.id);
        clearTimeout(pending.timer);
        pending.answer(frame);
        return;
      }
      this.hooks.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      // Whatever was not answered is the caller's to send again after the
      // reconnect: it may or may not have been taken.
      for (const pending of [this.waiting, this.delayed]) {
        const entries = [...pending.values()];
        pending.clear();
        for (const p of entries) {
          clearTimeout(p.timer);
          p.fail(new FrameError({ code: "unavailable", message: "connection closed" }));
        }
      }
      if (this.stopped || this.hooks.onClose(ev.code) === false) {
        this.hooks.onStatus("offline", "offline");
        return;
      }
      const backoff = Math.min(maxBackoffMs, minBackoffMs * 2 ** this.attempt++);
      const delay = Math.round(backoff * (0.5 + Math.random() / 2));
      this.hooks.onStatus("offline", `offline, retrying in ${Math.ceil(delay / 1000)} s`);
      this.retryTimer = setTimeout(() => this.connect(), delay);
    };
  }

  /** send writes a frame that expects no answer; false when not connected. */
  send(frame) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  /**
   * request sends a frame with a fresh id and resolves with the frame
   * answering it, or rejects with a FrameError. An `overloaded` answer is not
   * the end: the same frame, same id, goes again after the wait the server
   * asked for, until it is answered otherwise or the socket closes
   * (`unavailable`). The wait for each answer is bounded; the retries are not.
   */
  request(frame) {
    if (!this.open) return Promise.reject(new FrameError({ code: "unavailable", message: "not connected" }));
    const id = `f${this.nextId++}`;
    const text = JSON.stringify({ ...frame, id });
    return new Promise((resolve, reject) => {
      let release = null; // set while the server holds this frame back
      const finish = (settle, value) => {
        release?.();
        settle(value);
      };
      const fail = (err) => finish(reject, err);
      const answer = (f) => {
        if (f.type === "error" && f.code === "overloaded") {
          release ??= this.busy.hold();
          this.delayed.set(id, { fail, timer: setTimeout(attempt, overloadDelay(f.retryAfterMs)) });
          return;
        }
        if (f.type === "error") fail(new FrameError(f));
        else finish(resolve, f);
      };
      const attempt = () => {
        this.delayed.delete(id);
        if (!this.open) {
          fail(new FrameError({ code: "unavailable", message: "not connected" }));
          return;
        }
        const timer = setTimeout(() => {
          this.waiting.delete(id);
          fail(new FrameError({ code: "unavailable", message: "no answer in time" }));
        }, requestTimeoutMs);
        this.waiting.set(id, { answer, fail, timer });
        this.ws.send(text);
      };
      attempt();
    });
  }
}
