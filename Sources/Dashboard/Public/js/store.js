// What the page knows: the snapshot's sections, then every live message applied on top, by key.
// Applying marks what changed; the renderer draws only that, once per frame.

export class Store {
  constructor() {
    this.sections = {};
    this.generatedAt = null;
    this.positions = new Map(); // symbol -> row
    this.orders = new Map(); // clientOrderId -> order (open ones)
    this.paused = new Map(); // symbol -> an operator's pause
    this.trades = []; // newest first
    this.alerts = new Map(); // fingerprint -> { labels, annotations, startsAt, endsAt }
    this.marks = new Map(); // symbol -> price text
    this.ess = null;
    this.essRecent = [];
    this.lastSequence = 0;
    this.messages = 0;
    this.dirty = new Set();
  }

  mark(...panels) {
    for (const panel of panels) this.dirty.add(panel);
  }

  applySnapshot(snapshot) {
    this.generatedAt = snapshot.generatedAt;
    this.sections = snapshot.sections || {};
    const positions = this.data("positions");
    if (positions) {
      // The newer of the two wins: a position an event changed after the section was read keeps
      // the event's values.
      const readAt = Date.parse(this.sections.positions.updatedAt);
      const merged = new Map(positions.positions.map((row) => [row.symbol, { ...row, at: readAt }]));
      for (const [symbol, row] of this.positions) {
        if (row.at > readAt) merged.set(symbol, { ...merged.get(symbol), ...row });
      }
      this.positions = merged;
    }
    const orders = this.data("orders");
    if (orders && orders.open) this.orders = new Map(orders.open.orders.map((order) => [order.clientOrderId, order]));
    if (orders && orders.execution) this.paused = new Map((orders.execution.paused || []).map((pause) => [pause.symbol, pause]));
    const trades = this.data("trades");
    if (trades) this.trades = trades.trades.slice();
    const ess = this.data("ess");
    if (ess) {
      this.ess = ess.status;
      this.essRecent = ess.recent || [];
    }
    const mesh = this.data("mesh");
    if (mesh) {
      for (const alert of mesh.alerts || []) {
        const key = JSON.stringify(alert.labels);
        if (![...this.alerts.values()].some((known) => JSON.stringify(known.labels) === key)) {
          this.alerts.set(key, { labels: alert.labels, annotations: { summary: alert.summary }, startsAt: alert.startsAt });
        }
      }
    }
    this.mark("positions", "orders", "trades", "ess", "mesh", "pnl", "ai", "alerts", "ages");
  }

  data(section) {
    const entry = this.sections[section];
    return entry && entry.data ? entry.data : null;
  }

  apply(messages) {
    for (const message of messages) {
      this.messages += 1;
      if (message.seq > this.lastSequence) this.lastSequence = message.seq;
      const data = message.data;
      switch (message.topic) {
        case "position.updated": {
          const row = this.positions.get(data.symbol) || { symbol: data.symbol };
          row.quantity = data.quantity;
          row.averagePrice = data.averagePrice;
          row.realizedPnl = data.realizedPnl;
          row.at = Date.parse(message.at);
          this.positions.set(data.symbol, row);
          this.mark("positions");
          break;
        }
        case "market.tick": {
          const row = this.positions.get(data.symbol);
          if (row) {
            row.mark = data.price;
            this.mark("positions");
          }
          break;
        }
        case "order.submitted":
          this.orders.set(data.clientOrderId, {
            clientOrderId: data.clientOrderId, symbol: data.symbol, side: data.side, quantity: data.quantity,
            price: data.price, executed: "0", state: "submitted",
          });
          this.mark("orders");
          break;
        case "order.partially_filled":
        case "order.filled": {
          const order = this.orders.get(data.clientOrderId);
          if (message.topic === "order.filled") this.orders.delete(data.clientOrderId);
          else if (order) {
            order.executed = data.cumulativeQuantity;
            order.state = "partially_filled";
          }
          this.trades.unshift({
            time: message.at, symbol: data.symbol, side: data.side, quantity: data.lastQuantity, price: data.lastPrice,
            commission: data.commission, commissionAsset: data.commissionAsset,
          });
          if (this.trades.length > 200) this.trades.length = 200;
          this.mark("orders", "trades");
          break;
        }
        case "order.canceled":
        case "order.rejected":
          this.orders.delete(data.clientOrderId);
          this.mark("orders");
          break;
        case "ess.state_changed":
          this.ess = data.status;
          this.essRecent = [data.transition, ...this.essRecent].slice(0, 20);
          this.mark("ess");
          break;
        case "alert.fired":
          this.alerts.set(data.fingerprint, data);
          this.mark("alerts");
          break;
        case "alert.resolved":
          this.alerts.set(data.fingerprint, data);
          this.mark("alerts");
          break;
        case "health.changed":
          this.healthChanges = [data, ...(this.healthChanges || [])].slice(0, 20);
          this.mark("mesh");
          break;
        default:
          break;
      }
    }
  }
}
