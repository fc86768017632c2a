// One training session: a WebSocket to this server; config and commands out, frames in.
import { decodeFrame } from "./frames.js";

export class Session {
  constructor({ onReady, onFrame, onError, onBusy, onClose }) {
    this.handlers = { onReady, onFrame, onError, onBusy, onClose };
    this.ws = null;
    this.pending = [];
    this.open = false;
  }

  connect() {
    if (this.ws) return;
    const ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    ws.binaryType = "arraybuffer";
    ws.onopen = () => { this.open = true; for (const m of this.pending.splice(0)) ws.send(m); };
    ws.onmessage = (ev) => {
      if (typeof ev.data === "string") {
        const msg = JSON.parse(ev.data);
        if (msg.type === "busy") this.handlers.onBusy?.(msg.message);
        else this.handlers.onError?.(msg);
        return;
      }
      const frame = decodeFrame(ev.data);
      if (frame.meta.type === "ready") this.handlers.onReady?.(frame);
      else this.handlers.onFrame?.(frame);
    };
    ws.onclose = (ev) => { this.ws = null; this.open = false; this.handlers.onClose?.(ev); };
    this.ws = ws;
  }

  send(obj) {
    const text = JSON.stringify(obj);
    if (!this.ws) this.connect();
    if (this.open) this.ws.send(text);
    else this.pending.push(text);
  }

  close() { if (this.ws) this.ws.close(); this.ws = null; this.open = false; this.pending = []; }
}
