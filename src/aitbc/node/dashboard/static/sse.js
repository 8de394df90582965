// Server-Sent Events over fetch(): EventSource cannot send the X-API-Key header, and the
// key must never go into a URL. The stream resumes from the last id it received
// (Last-Event-ID, which carries every topic's position), so a dropped connection or a
// node restart loses no event and replays none.

import { apiKey } from "./api.js";

const MAX_BACKOFF_MS = 5000;

export class EventStream {
  /**
   * @param {string[]} topics  topic names (docs/protocol.md)
   * @param {(ev: {topic, seq, event, data}) => void} onEvent
   * @param {{resumeFrom?: number, onStatus?: (state: string, detail: string) => void}} options
   */
  constructor(topics, onEvent, options = {}) {
    this.topics = topics;
    this.onEvent = onEvent;
    this.onStatus = options.onStatus || (() => {});
    this.resumeFrom = options.resumeFrom;
    this.lastId = null;
    this.retryMs = 1000;
    this.failures = 0;
    this.controller = null;
    this.stopped = false;
    this.loop = this.run();
  }

  stop() {
    this.stopped = true;
    if (this.controller) this.controller.abort();
  }

  async run() {
    while (!this.stopped) {
      try {
        const again = await this.connect();
        if (!again) return;
        this.failures = 0;
      } catch (err) {
        if (this.stopped) return;
        this.failures += 1;
        this.onStatus("reconnecting", err.message || String(err));
      }
      const wait = Math.min(MAX_BACKOFF_MS, this.retryMs * 2 ** Math.min(this.failures, 4));
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  /** One connection; resolves true to reconnect, false to give up (refused). */
  async connect() {
    this.controller = new AbortController();
    const url = new URL("/v1/events", location.origin);
    url.searchParams.set("topics", this.topics.join(","));
    const headers = { "X-API-Key": apiKey() || "", Accept: "text/event-stream" };
    if (this.lastId) headers["Last-Event-ID"] = this.lastId;
    else if (this.resumeFrom !== undefined) url.searchParams.set("resume_from", this.resumeFrom);
    const res = await fetch(url, { headers, signal: this.controller.signal, cache: "no-store" });
    if (!res.ok) {
      let message = res.statusText;
      try {
        message = (await res.json()).error.message;
      } catch {
        // keep the status text
      }
      if (res.status === 410) {
        // The saved position left the log: start from now; the view reloads its data.
        this.lastId = null;
        this.resumeFrom = undefined;
        this.onStatus("gap", message);
        return true;
      }
      if (res.status >= 400 && res.status < 500) {
        this.onStatus("refused", `${res.status}: ${message}`);
        return false;
      }
      throw new Error(`${res.status}: ${message}`);
    }
    this.onStatus("live", "");
    await this.read(res.body.getReader());
    return true;
  }

  async read(reader) {
    const decoder = new TextDecoder();
    let buffer = "";
    let frame = { event: "message", data: [], id: null };
    for (;;) {
      const { value, done } = await reader.read();
      if (done || this.stopped) return;
      buffer += decoder.decode(value, { stream: true });
      let nl;
      while ((nl = buffer.search(/\r\n|\n|\r/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith("\r\n", nl) ? 2 : 1));
        if (line === "") {
          if (frame.data.length) this.dispatch(frame);
          frame = { event: "message", data: [], id: null };
          continue;
        }
        if (line.startsWith(":")) continue;
        const colon = line.indexOf(":");
        const field = colon < 0 ? line : line.slice(0, colon);
        let val = colon < 0 ? "" : line.slice(colon + 1);
        if (val.startsWith(" ")) val = val.slice(1);
        if (field === "data") frame.data.push(val);
        else if (field === "event") frame.event = val;
        else if (field === "id") frame.id = val;
        else if (field === "retry" && /^\d+$/.test(val)) this.retryMs = Number(val);
      }
    }
  }

  dispatch(frame) {
    if (frame.id !== null) this.lastId = frame.id;
    const body = JSON.parse(frame.data.join("\n"));
    if (frame.event === "subscribed") return;
    if (frame.event === "error") {
      const error = body.error || {};
      if (error.code === "stream_gap") {
        this.lastId = null;
        this.onStatus("gap", error.message || "stream gap");
      }
      return; // the node ends the stream after this frame; run() reconnects
    }
    this.onEvent(body);
  }
}
