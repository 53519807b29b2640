// Each panel drawn from the store. Every function replaces its panel's content with text nodes
// (never HTML from the data) and is called only when its panel changed.

import { drawLineChart } from "./charts.js";

const $ = (id) => document.getElementById(id);

function element(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (className) node.className = className;
  return node;
}

function figure(list, name, value, className) {
  const wrapper = element("div");
  wrapper.append(element("dt", name), titled(element("dd", readable(value), className), value));
  list.appendChild(wrapper);
}

// An amount for reading: the decimal string rounded half away from zero to `places` by its
// digits (never through a binary float), or to 8 places where `places` would show a non-zero
// amount as zero. The ledger's 18 places stay exact in the element's title.
export function readable(text, places = 2) {
  const match = /^(-?)(\d+)(?:\.(\d*))?$/.exec(String(text ?? ""));
  if (!match) return text ?? "—";
  const [, sign, whole, fraction = ""] = match;
  for (const shown of [places, 8]) {
    const digits = (fraction + "0".repeat(shown + 1)).slice(0, shown + 1);
    let units = BigInt(whole + digits.slice(0, shown));
    if (digits[shown] >= "5") units += 1n;
    if (units === 0n && shown < 8 && /[1-9]/.test(whole + fraction)) continue;
    const padded = units.toString().padStart(shown + 1, "0");
    let body = shown ? `${padded.slice(0, -shown)}.${padded.slice(-shown)}` : padded;
    if (shown !== places) body = body.replace(/\.?0+$/, "");
    return units === 0n ? body : sign + body;
  }
}

function titled(node, exact) {
  if (exact !== undefined && exact !== null && String(exact) !== node.textContent) node.title = String(exact);
  return node;
}

function signClass(text) {
  if (text === undefined || text === null) return "";
  return String(text).startsWith("-") ? "neg" : Number(text) > 0 ? "pos" : "";
}

function time(text) {
  if (!text) return "—";
  const date = new Date(text);
  return Number.isNaN(date.getTime()) ? String(text) : date.toLocaleTimeString();
}

export function ages(store, fetchedAt) {
  const elapsed = Date.now() - fetchedAt;
  for (const [section, id] of [["positions", "positions-age"], ["pnl", "pnl-age"], ["orders", "orders-age"], ["trades", "trades-age"], ["ess", "ess-age"], ["ai", "ai-age"]]) {
    const entry = store.sections[section];
    const node = $(id);
    if (!node || !entry) continue;
    if (entry.ageMs === null || entry.ageMs === undefined) {
      node.textContent = entry.error ? `unavailable: ${entry.error}` : "no data yet";
      node.className = "age stale";
      continue;
    }
    const seconds = Math.round((entry.ageMs + elapsed) / 1000);
    node.textContent = `as of ${seconds} s ago` + (entry.error ? ` (last read failed: ${entry.error})` : "");
    node.className = seconds > 30 || entry.error ? "age stale" : "age";
  }
}

export function ess(store) {
  const status = store.ess;
  const badge = $("ess-badge");
  const state = status ? status.state : "unknown";
  badge.textContent = `ESS ${state}`;
  badge.className = `badge ${state}`;
  const list = $("ess-figures");
  list.replaceChildren();
  if (!status) {
    figure(list, "State", "unknown (risk unreachable)");
    return;
  }
  figure(list, "State", status.state);
  figure(list, "Since", time(status.since));
  figure(list, "Trigger", status.trigger);
  figure(list, "Source", status.source);
  figure(list, "Reason", status.reason);
  if (status.cooldownEndsAt) figure(list, "Cooldown ends", time(status.cooldownEndsAt));
  $("ess-transitions").replaceChildren(
    ...store.essRecent.map((transition) =>
      element("li", `${time(transition.at)} ${transition.from} → ${transition.to} (${transition.trigger}): ${transition.reason}`)),
  );
}

export function pnl(store) {
  const data = store.data("pnl");
  const list = $("pnl-figures");
  list.replaceChildren();
  if (data) {
    figure(list, `Equity (${data.account})`, data.equity);
    figure(list, "Cash", data.cash);
    figure(list, "Realized", data.realizedPnl, signClass(data.realizedPnl));
    figure(list, "Unrealized", data.unrealizedPnl, signClass(data.unrealizedPnl));
    figure(list, "Fees", data.fees);
    figure(list, "Exposure", data.exposure);
    figure(list, "Drawdown", data.drawdown, data.drawdown !== "0" ? "neg" : "");
    for (const period of ["day", "week", "month"]) {
      const value = data.pnl && data.pnl[period] ? data.pnl[period].pnl : null;
      figure(list, `${period[0].toUpperCase()}${period.slice(1)} PnL`, value, signClass(value));
    }
  } else {
    figure(list, "Equity", "unavailable");
  }
  const points = (store.data("equity") || { points: [] }).points;
  drawLineChart($("equity-chart"), points.map((point) => ({ value: point.equity })), { label: "equity", color: "--chart" });
  drawLineChart($("drawdown-chart"), points.map((point) => ({ value: point.drawdown })), { label: "drawdown", color: "--chart2", fill: true });
  drawLineChart($("daypnl-chart"), points.map((point) => ({ value: point.dayPnl })), { label: "day PnL", color: "--chart3" });
}

function rowButton(text, action, row, label) {
  const button = element("button", text, "row-action");
  button.type = "button";
  button.dataset.action = action;
  button.dataset.symbol = row.symbol;
  button.setAttribute("aria-label", `${label} ${row.symbol}`);
  return button;
}

export function positionRow(row, pause) {
  const node = element("div", null, pause ? "vrow paused" : "vrow");
  node.dataset.symbol = row.symbol;
  const symbol = pause ? `${row.symbol} ⏸` : row.symbol;
  const cells = [symbol, row.quantity, row.averagePrice, row.mark, row.unrealizedPnl, row.realizedPnl];
  cells.forEach((text, index) => {
    const cell = element("span", index >= 2 ? readable(text) : text, index >= 4 ? signClass(text) : "");
    if (index >= 2) titled(cell, text);
    cell.setAttribute("role", index === 0 ? "rowheader" : "cell");
    if (index === 0 && pause) cell.title = `paused: ${pause.reason}`;
    node.appendChild(cell);
  });
  const actions = element("span", null, "row-actions");
  actions.setAttribute("role", "cell");
  actions.appendChild(
    pause ? rowButton("Resume", "symbol.resume", row, "Resume trading") : rowButton("Pause", "symbol.pause", row, "Pause trading"),
  );
  actions.appendChild(rowButton("Close", "position.close", row, "Close the position in"));
  node.appendChild(actions);
  return node;
}

export function positions(store, list) {
  const rows = [...store.positions.values()].filter((row) => row.quantity !== "0").sort((a, b) => (a.symbol < b.symbol ? -1 : 1));
  list.setItems(rows);
  $("positions-count").textContent = String(rows.length);
}

export function orders(store) {
  const rows = [...store.orders.values()].slice(0, 200).map((order) => {
    const row = element("tr");
    for (const text of [order.clientOrderId, order.symbol, order.side, order.quantity, order.price ?? "market", order.executed, order.state]) {
      row.appendChild(element("td", text));
    }
    return row;
  });
  if (!rows.length) {
    const row = element("tr");
    const cell = element("td", "no open orders", "muted");
    cell.colSpan = 7;
    row.appendChild(cell);
    rows.push(row);
  }
  $("orders").replaceChildren(...rows);
  const execution = (store.data("orders") || {}).execution;
  if (execution) {
    const signals = execution.signals;
    const dropped = Object.values(signals.dropped).reduce((sum, count) => sum + count, 0);
    $("signals-line").textContent =
      `signals: ${signals.received} received = ${signals.executed} executed + ${signals.rejected} rejected + ${dropped} dropped + ${signals.queued} queued; ` +
      `${execution.trading ? "trading" : "reconciling, not trading"}`;
  }
  const paused = [...store.paused.values()];
  $("paused-line").textContent = paused.length
    ? `paused by operators: ${paused.map((pause) => `${pause.symbol} since ${time(pause.since)} (${pause.reason})`).join("; ")}`
    : "";
}

export function trades(store) {
  const rows = store.trades.slice(0, 50).map((trade) => {
    const row = element("tr");
    const fee = trade.commission !== undefined ? `${readable(trade.commission, 8)} ${trade.commissionAsset}` : "—";
    for (const text of [time(trade.time), trade.symbol, trade.side, trade.quantity, trade.price]) row.appendChild(element("td", text));
    row.appendChild(titled(element("td", fee), trade.commission !== undefined ? `${trade.commission} ${trade.commissionAsset}` : undefined));
    return row;
  });
  $("trades").replaceChildren(...rows);
}

export function ai(store) {
  const data = store.data("ai");
  const root = $("ai");
  root.replaceChildren();
  if (!data) {
    root.appendChild(element("p", "AI engine unavailable", "muted"));
    return;
  }
  const symbols = Object.entries((data.ensemble && data.ensemble.symbols) || {});
  for (const [symbol, state] of symbols) {
    root.appendChild(element("h3", `${symbol}: model ${state.modelVersion || "none"}${state.trained ? "" : " (not trained yet)"}, ${state.signals} signals`));
    const table = element("table", null, "ai-table");
    const head = element("tr");
    for (const name of ["Model", "Weight", "Accuracy", "P(up)"]) head.appendChild(element("th", name));
    table.appendChild(head);
    for (const model of state.models || []) {
      const row = element("tr");
      for (const text of [model.name, fixed(model.weight), fixed(model.accuracy), fixed(model.probabilityUp)]) row.appendChild(element("td", text));
      table.appendChild(row);
    }
    root.appendChild(table);
    const meta = data.metaStrategy && data.metaStrategy.symbols ? data.metaStrategy.symbols[symbol] : null;
    if (meta) {
      root.appendChild(element("p", `regime: ${meta.regime || "unknown"}${meta.profile ? `, profile ${meta.profile.name} (min confidence ${fixed(meta.profile.minimumConfidence)}, size ×${fixed(meta.profile.sizeScale)})` : ""}`, "muted"));
    }
  }
  const regimes = Object.entries((data.sizing && data.sizing.regimes) || {});
  if (regimes.length) {
    root.appendChild(element("h3", `Sizing (${data.sizing.method})`));
    for (const [regime, state] of regimes) {
      root.appendChild(element("p", `${regime}: next size ${fixed(state.nextChoice)}, last ${fixed(state.lastChoice)}`, "muted"));
    }
  }
  if (!symbols.length && !regimes.length) root.appendChild(element("p", "no symbols yet", "muted"));
}

function fixed(value) {
  return typeof value === "number" ? value.toFixed(3) : value ?? "—";
}

export function alerts(store) {
  const entries = [...store.alerts.values()].sort((a, b) => (a.endsAt ? 1 : 0) - (b.endsAt ? 1 : 0) || String(b.startsAt).localeCompare(String(a.startsAt)));
  const firing = entries.filter((alert) => !alert.endsAt).length;
  $("alerts-count").textContent = `${firing} firing`;
  $("alerts").replaceChildren(
    ...entries.slice(0, 100).map((alert) => {
      const name = alert.labels.alertname || "alert";
      const summary = (alert.annotations && alert.annotations.summary) || "";
      const state = alert.endsAt ? `resolved ${time(alert.endsAt)}` : `firing since ${time(alert.startsAt)}`;
      return element("li", `${name} ${alert.labels.service ? `(${alert.labels.service}) ` : ""}${state}: ${summary}`, alert.endsAt ? "muted" : "fail");
    }),
  );
  if (!entries.length) $("alerts").replaceChildren(element("li", "no alerts", "muted"));
}

export function mesh(store, fallback) {
  const report = store.data("mesh");
  const svg = $("mesh-graph");
  const list = $("mesh-list");
  if (!report) {
    $("mesh-status").textContent = fallback ? "from the dashboard's relay" : "unknown";
    $("mesh-summary").textContent = fallback ? "" : "the supervisor's mesh is unavailable";
    if (fallback) {
      list.replaceChildren(...fallback.map((entry) => element("li", `${entry.name}: ${entry.status}${entry.output ? ` — ${entry.output}` : ""}`, entry.status)));
    }
    return;
  }
  $("mesh-status").textContent = report.status;
  $("mesh-status").className = `pill ${report.status}`;
  const spofs = report.nodes.filter((node) => node.spof).map((node) => node.name);
  $("mesh-summary").textContent = `${report.output || "all healthy"}${spofs.length ? `. Single points of failure (dashed): ${spofs.join(", ")}` : ""}`;

  // Layered by dependency depth: infrastructure at the bottom, what depends on it above.
  const byName = new Map(report.nodes.map((node) => [node.name, node]));
  const depth = new Map();
  const depthOf = (name, seen = new Set()) => {
    if (depth.has(name)) return depth.get(name);
    if (seen.has(name)) return 0;
    seen.add(name);
    const node = byName.get(name);
    const value = node && node.dependsOn.length ? 1 + Math.max(...node.dependsOn.filter((dep) => byName.has(dep)).map((dep) => depthOf(dep, seen)), -1) : 0;
    depth.set(name, value);
    return value;
  };
  report.nodes.forEach((node) => depthOf(node.name));
  const layers = [];
  for (const node of report.nodes) (layers[depth.get(node.name)] ||= []).push(node);
  const width = svg.clientWidth || 800;
  const height = svg.clientHeight || 260;
  const position = new Map();
  layers.forEach((layer, level) => {
    layer.forEach((node, index) => {
      position.set(node.name, {
        x: ((index + 1) * width) / (layer.length + 1),
        y: height - 24 - (level * (height - 48)) / Math.max(1, layers.length - 1),
      });
    });
  });
  const ns = "http://www.w3.org/2000/svg";
  const shapes = [];
  for (const node of report.nodes) {
    const from = position.get(node.name);
    for (const dep of node.dependsOn) {
      const to = position.get(dep);
      if (!to) continue;
      const line = document.createElementNS(ns, "line");
      line.setAttribute("x1", from.x); line.setAttribute("y1", from.y); line.setAttribute("x2", to.x); line.setAttribute("y2", to.y);
      if (node.rootCause === dep || (byName.get(dep) && byName.get(dep).effective === "fail")) line.setAttribute("class", "failing");
      shapes.push(line);
    }
  }
  for (const node of report.nodes) {
    const at = position.get(node.name);
    const group = document.createElementNS(ns, "g");
    const circle = document.createElementNS(ns, "circle");
    circle.setAttribute("cx", at.x); circle.setAttribute("cy", at.y); circle.setAttribute("r", node.critical ? 9 : 7);
    circle.setAttribute("class", `${node.effective || "unknown"}${node.spof ? " spof" : ""}`);
    const title = document.createElementNS(ns, "title");
    title.textContent = `${node.name}: ${node.effective}${node.rootCause ? ` (root cause ${node.rootCause})` : ""}${node.spof ? ", single point of failure" : ""}`;
    const label = document.createElementNS(ns, "text");
    label.setAttribute("x", at.x + 12); label.setAttribute("y", at.y + 4);
    label.textContent = node.name;
    group.append(circle, title, label);
    shapes.push(group);
  }
  svg.replaceChildren(...shapes);
  list.replaceChildren(
    ...report.nodes.map((node) =>
      element("li", `${node.name}: ${node.effective}${node.rootCause ? ` — root cause ${node.rootCause}` : ""}${node.spof ? " — single point of failure" : ""}${node.output ? ` — ${node.output}` : ""}`, node.effective)),
  );
}
