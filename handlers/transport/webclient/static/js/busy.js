// Busy counts what the server refused as overloaded and the client is waiting
// to send again. A short wait shows nothing: the note comes only when
// something has been held back for noteAfterMs without a break, and goes as
// soon as nothing is.

const noteAfterMs = 3000;

export class Busy {
  /** @param {(shown: boolean) => void} onNote called when the note should appear or go */
  constructor(onNote) {
    this.onNote = onNote;
    this.held = 0;
    this.timer = null;
    this.shown = false;
  }

  /**
   * hold marks one refused frame or request as waiting to go again. Call the
   * function it returns once that is over (answered, or given up); calling it
   * again does nothing.
   */
  hold() {
    if (this.held++ === 0) this.timer = setTimeout(() => this.show(true), noteAfterMs);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.held === 0) {
        clearTimeout(this.timer);
        this.show(false);
      }
    };
  }

  show(shown) {
    if (this.shown === shown) return;
    this.shown = shown;
    this.onNote(shown);
  }
}
