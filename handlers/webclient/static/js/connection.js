// One WebSocket to /v1/ws that comes back by itself: after a drop it reconnects
// with exponential backoff and jitter, and tells its owner (onOpen) so that it
// can sync what it missed.

const requestTimeoutMs = 15000;
const minBackoffMs = 500;
const maxBackoffMs = 15000;

/** FrameError is an `error` frame answering one of ours. */
export class FrameError extends Error {
  constructor(frame) {
    super(frame.message);
    this.code = frame.code;
  }
}

export class Connection {
  /**
   * @param {() => string} url the WebSocket URL, token included, asked anew each time
   * @param {{onOpen: () => void, onFrame: (f: object) => void, onStatus: (state: string, detail: string) => void,
   *          onClose: (code: number) => boolean}} hooks onClose returns false to stop reconnecting
   */
  constructor(url, hooks) {
    this.url = url;
    this.hooks = hooks;
    this.ws = null;
    this.attempt = 0;
    this.nextId = 1;
    this.waiting = new Map(); // frame id -> {resolve, reject, timer}
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
        if (frame.type === "error") pending.reject(new FrameError(frame));
        else pending.resolve(frame);
        return;
      }
      this.hooks.onFrame(frame);
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const [, p] of this.waiting) {
        clearTimeout(p.timer);
        p.reject(new FrameError({ code: "unavailable", message: "connection closed" }));
      }
      this.waiting.clear();
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

  /** request sends a frame with a fresh id and resolves with the frame answering it. */
  request(frame) {
    if (!this.open) return Promise.reject(new FrameError({ code: "unavailable", message: "not connected" }));
    const id = `f${this.nextId++}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new FrameError({ code: "unavailable", message: "no answer in time" }));
      }, requestTimeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      this.ws.send(JSON.stringify({ ...frame, id }));
    });
  }
}
