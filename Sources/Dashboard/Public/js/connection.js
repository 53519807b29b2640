// The page's link to the gateway: the snapshot over REST, then the WebSocket's batches; on any
// loss it backs off (0.5 s doubling to 15 s, with jitter) and reconnects, resuming from the last
// sequence it applied, or from a fresh snapshot when the gateway says it must (another run, or
// too far behind). While the gateway is away the page keeps its last data and says how old it is.

export const TOPICS = [
  "position.updated", "portfolio.snapshot", "order.submitted", "order.filled", "order.partially_filled",
  "order.canceled", "order.rejected", "signal.generated", "signal.dropped", "ess.state_changed",
  "health.changed", "alert.fired", "alert.resolved", "model.promoted", "control.action", "market.tick",
];

export class GatewayConnection {
  constructor({ baseURL, token, onSnapshot, onBatch, onState, onWork = () => {} }) {
    this.baseURL = baseURL;
    this.token = token;
    this.onSnapshot = onSnapshot;
    this.onBatch = onBatch;
    this.onWork = onWork;
    this.onState = onState;
    this.resume = null; // { epoch, sequence }
    this.attempt = 0;
    this.socket = null;
    this.stopped = false;
    this.timer = null;
  }

  get webSocketURL() {
    return this.baseURL.replace(/^http/, "ws") + "/ws";
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close();
  }

  setToken(token) {
    this.token = token;
    this.resume = null;
    if (this.socket) this.socket.close();
    else this.connect();
  }

  /// The snapshot, applied; its epoch and sequence become the resume point.
  async loadSnapshot() {
    const response = await fetch(this.baseURL + "/api/snapshot", {
      headers: { Authorization: "Bearer " + this.token }, cache: "no-store",
    });
    if (response.status === 401) throw new AuthError((await response.json()).error || "unauthorized");
    if (!response.ok) throw new Error(`snapshot: ${response.status}`);
    const snapshot = await response.json();
    this.onSnapshot(snapshot);
    return snapshot;
  }

  async connect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.setState(this.attempt === 0 ? "connecting" : "reconnecting", "");
    let socket;
    try {
      socket = new WebSocket(this.webSocketURL);
    } catch (error) {
      this.retry(String(error));
      return;
    }
    this.socket = socket;
    let welcomed = false;
    socket.onopen = () => {
      const hello = { type: "hello", token: this.token, topics: TOPICS };
      if (this.resume) hello.resume = this.resume;
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = async (event) => {
      const received = performance.now();
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (message.type === "welcome") {
        welcomed = true;
        this.attempt = 0;
        if (message.resume !== "resumed") {
          // A first connection, or one the gateway cannot resume: start from its snapshot. Batches
          // that arrive meanwhile are newer than it, so they are kept and applied after it.
          this.pending = [];
          try {
            const snapshot = await this.loadSnapshot();
            this.resume = { epoch: snapshot.epoch, sequence: snapshot.sequence };
          } catch (error) {
            this.setState("degraded", "snapshot failed: " + error.message);
          }
          const pending = this.pending;
          this.pending = null;
          for (const batch of pending) this.applyBatch(batch);
        }
        this.setState("live", message.resume === "resumed" ? `resumed (${message.resumed} updates)` : "");
      } else if (message.type === "batch") {
        // The page's own work for a batch: parsing it and applying it to the store.
        if (this.pending) this.pending.push(message);
        else this.applyBatch(message);
        this.onWork(performance.now() - received);
      } else if (message.type === "error") {
        if (!welcomed && /token/.test(message.error)) this.setState("unauthorized", message.error);
        else console.warn("gateway:", message.error);
      } else if (message.type === "closing") {
        this.setState("degraded", "cut off by the gateway: " + message.reason);
      }
    };
    socket.onclose = () => {
      if (this.socket === socket) this.socket = null;
      if (this.lastState === "unauthorized") return;
      this.retry(welcomed ? "connection lost" : "gateway unreachable");
    };
  }

  setState(state, detail) {
    this.lastState = state;
    this.onState(state, detail);
  }

  applyBatch(batch) {
    const messages = batch.messages;
    if (messages.length && this.resume) {
      this.resume = { epoch: this.resume.epoch, sequence: Math.max(this.resume.sequence, messages[messages.length - 1].seq) };
    }
    this.onBatch(messages);
  }

  retry(reason) {
    if (this.stopped) return;
    const delay = Math.min(15000, 500 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
    this.attempt += 1;
    this.setState("degraded", `${reason}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.timer = setTimeout(() => this.connect(), delay);
  }
}

export class AuthError extends Error {}
