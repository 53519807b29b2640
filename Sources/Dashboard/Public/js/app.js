// The dashboard: connects to the gateway (snapshot, then live batches), draws each changed panel
// once per animation frame, and measures its own longest frame and its own longest piece of work
// (a batch parsed and applied, or a frame's drawing) so a test (or an operator) can see that a
// flood of events never freezes it (`window.vakt.stats`).

import { GatewayConnection } from "./connection.js";
import { Store } from "./store.js";
import { VirtualList } from "./vlist.js";
import * as views from "./views.js";

const $ = (id) => document.getElementById(id);
const store = new Store();
const positionsList = new VirtualList($("positions"), {
  rowHeight: 26,
  renderRow: (row) => views.positionRow(row, store.paused.get(row.symbol)),
});
let fetchedAt = Date.now();
let connection = null;
let fallback = null;
let connectionState = "connecting";

// --- What the page measures about itself -------------------------------------------------------
const stats = { longestFrameMs: 0, longestTaskMs: 0, longestWorkMs: 0, frames: 0, batches: 0, renders: 0 };
function work(ms) {
  stats.longestWorkMs = Math.max(stats.longestWorkMs, ms);
}
let lastFrame = null;
function meter(now) {
  if (lastFrame !== null && document.visibilityState === "visible") {
    stats.longestFrameMs = Math.max(stats.longestFrameMs, now - lastFrame);
    stats.frames += 1;
  }
  lastFrame = now;
  requestAnimationFrame(meter);
}
requestAnimationFrame(meter);
if ("PerformanceObserver" in window && PerformanceObserver.supportedEntryTypes.includes("longtask")) {
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) stats.longestTaskMs = Math.max(stats.longestTaskMs, entry.duration);
  }).observe({ type: "longtask", buffered: false });
}
window.vakt = {
  stats,
  store,
  resetStats() {
    Object.assign(stats, { longestFrameMs: 0, longestTaskMs: 0, longestWorkMs: 0, frames: 0 });
    lastFrame = null;
  },
  get connection() {
    return connectionState;
  },
  get renderedRows() {
    return positionsList.renderedRows;
  },
};

// --- Drawing, at most once a frame ---------------------------------------------------------------
let scheduled = false;
function schedule() {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(render);
}

function render() {
  const started = performance.now();
  draw();
  work(performance.now() - started);
}

function draw() {
  scheduled = false;
  stats.renders += 1;
  const dirty = store.dirty;
  store.dirty = new Set();
  if (dirty.has("positions")) views.positions(store, positionsList);
  if (dirty.has("orders")) views.orders(store);
  if (dirty.has("trades")) views.trades(store);
  if (dirty.has("ess")) views.ess(store);
  if (dirty.has("pnl")) views.pnl(store);
  if (dirty.has("ai")) views.ai(store);
  if (dirty.has("alerts")) views.alerts(store);
  if (dirty.has("mesh")) views.mesh(store, fallback);
  views.ages(store, fetchedAt);
}
setInterval(() => views.ages(store, fetchedAt), 1000);

// --- Connection ----------------------------------------------------------------------------------
function showConnection(state, detail) {
  connectionState = state;
  const node = $("connection");
  const labels = {
    connecting: "connecting…", reconnecting: "reconnecting…", live: "live", unauthorized: "read token refused",
    degraded: "gateway unreachable", "no token": "no read token",
  };
  const since = store.generatedAt ? `; data as of ${new Date(fetchedAt).toLocaleTimeString()}` : "";
  node.textContent = `${labels[state] || state}${detail ? ` — ${detail}` : ""}${state === "live" ? "" : since}`;
  node.className = `connection ${state === "live" ? "live" : state === "unauthorized" || state === "no token" ? "down" : "degraded"}`;
  if (state === "unauthorized") openTokenDialog();
}

async function loadFallback() {
  // While the gateway is away, the dashboard's own relay of each service's /health still shows
  // what is up.
  if (connectionState === "live") return;
  try {
    const services = await (await fetch("/api/services")).json();
    fallback = await Promise.all(
      services.map(async (service) => {
        const report = await (await fetch(`/api/health/${service.name}`)).json();
        return { name: service.name, status: report.status, output: report.output || "" };
      }),
    );
    if (!store.data("mesh")) store.mark("mesh");
    schedule();
  } catch {
    fallback = null;
  }
}
setInterval(loadFallback, 5000);

async function start() {
  const config = await (await fetch("/api/config")).json();
  const baseURL = `${location.protocol}//${location.hostname}:${config.gatewayPort}`;
  const token = localStorage.getItem("vakt.readToken");
  connection = new GatewayConnection({
    baseURL, token,
    onSnapshot(snapshot) {
      store.applySnapshot(snapshot);
      fetchedAt = Date.now();
      schedule();
    },
    onBatch(messages) {
      stats.batches += 1;
      store.apply(messages);
      schedule();
    },
    onState: showConnection,
    onWork: work,
  });
  window.vakt.gateway = baseURL;
  // The sections not pushed as events (PnL, equity history, AI) are read again every 5 s.
  setInterval(() => {
    if (connectionState === "live") connection.loadSnapshot().catch(() => {});
  }, 5000);
  if (!token) {
    showConnection("no token", "enter the read token");
    openTokenDialog();
    return;
  }
  connection.start();
}

// --- Token, theme, actions -----------------------------------------------------------------------
function openTokenDialog() {
  const dialog = $("token-dialog");
  if (!dialog.open) dialog.showModal();
}
$("token-button").addEventListener("click", openTokenDialog);
$("token-dialog").addEventListener("close", () => {
  const dialog = $("token-dialog");
  const value = $("token-input").value.trim();
  if (dialog.returnValue !== "save" || !value) return;
  localStorage.setItem("vakt.readToken", value);
  $("token-input").value = "";
  if (connection) {
    connection.setToken(value);
    if (!connection.socket) connection.start();
  }
});

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  $("theme-button").textContent = theme === "dark" ? "Light theme" : "Dark theme";
  $("theme-button").setAttribute("aria-pressed", String(theme === "light"));
  store.mark("pnl", "mesh");
  schedule();
}
applyTheme(localStorage.getItem("vakt.theme") || (matchMedia("(prefers-color-scheme: light)").matches ? "light" : "dark"));
$("theme-button").addEventListener("click", () => {
  const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
  localStorage.setItem("vakt.theme", next);
  applyTheme(next);
});

// Each dialog is one action: its id (random, kept while the dialog is open) makes a Confirm
// pressed twice, or retried after a timeout, one action at the owner.
let pendingAction = null;
function actionId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return [...bytes].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}
const actionTexts = {
  "ess.trip": () => ["Trip the emergency stop?", "This asks the risk service to halt all trading now."],
  "ess.reset": () => ["Reset the emergency stop?", "This asks the risk service to re-arm trading."],
  "symbol.pause": (symbol) => [`Pause ${symbol}?`, `Execution stops trading signals on ${symbol} until it is resumed; armed exits still fire.`],
  "symbol.resume": (symbol) => [`Resume ${symbol}?`, `Execution trades signals on ${symbol} again.`],
  "position.close": (symbol) => [`Close the ${symbol} position?`, `Execution cancels open buys on ${symbol} and sells what is held, at the market less the allowed slippage.`],
};
function askForAction(action, symbol) {
  const [title, text] = actionTexts[action](symbol);
  pendingAction = { action, symbol, id: actionId() };
  $("action-dialog-title").textContent = title;
  $("action-dialog-text").textContent = `${text} It is audited with your reason.`;
  $("action-result").textContent = "";
  $("action-dialog").showModal();
}
$("ess-trip").addEventListener("click", () => askForAction("ess.trip"));
$("ess-reset").addEventListener("click", () => askForAction("ess.reset"));
$("positions").addEventListener("click", (event) => {
  const button = event.target.closest("button[data-action]");
  if (button) askForAction(button.dataset.action, button.dataset.symbol);
});
$("action-form").addEventListener("submit", async (event) => {
  if (event.submitter && event.submitter.value !== "confirm") return;
  event.preventDefault();
  const result = $("action-result");
  const { action, symbol, id } = pendingAction;
  const body = { reason: $("action-reason").value };
  if (symbol) body.symbol = symbol;
  if (action === "position.close") body.actionId = id;
  try {
    const response = await fetch(`${window.vakt.gateway}/api/control/${action}`, {
      method: "POST",
      headers: { Authorization: `Bearer ${$("action-token").value}`, "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.ok) {
      $("action-token").value = "";
      $("action-reason").value = "";
      $("action-dialog").close("done");
      $("action-status").textContent = `${action}${symbol ? ` ${symbol}` : ""}: ${answer.outcome || "done"}`;
      // The gateway re-reads the owner's section soon after the action's audit event.
      setTimeout(() => connection.loadSnapshot().catch(() => {}), 1000);
    } else {
      result.textContent = `${response.status}: ${answer.error || JSON.stringify(answer)}`;
    }
  } catch (error) {
    result.textContent = `the gateway could not be reached: ${error.message}`;
  }
});

start().catch((error) => showConnection("degraded", String(error)));
