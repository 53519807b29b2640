// Polls each service's /health through the dashboard's relay and renders one row per service.
"use strict";

const body = document.querySelector("#services tbody");

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function checksCell(report) {
  const td = document.createElement("td");
  const entries = Object.entries(report.checks || {});
  if (report.output) entries.unshift(["error", [{ status: report.status, output: report.output }]]);
  for (const [key, results] of entries) {
    for (const result of results) {
      const span = document.createElement("span");
      span.className = "check " + result.status;
      const value = result.observedValue !== undefined ? ` ${Number(result.observedValue).toFixed(1)} ${result.observedUnit || ""}` : "";
      span.textContent = `${key}: ${result.status}${value}${result.output ? " — " + result.output : ""}`;
      td.appendChild(span);
    }
  }
  return td;
}

async function refresh() {
  try {
    const services = await (await fetch("/api/services")).json();
    const reports = await Promise.all(services.map(async (s) => (await fetch(`/api/health/${s.name}`)).json()));
    body.replaceChildren(...services.map((service, i) => {
      const report = reports[i];
      const row = document.createElement("tr");
      row.append(
        cell(service.name),
        cell(String(service.port)),
        cell(service.criticalForTrading ? "yes" : "no"),
        cell(report.status, "status " + report.status),
        checksCell(report),
      );
      return row;
    }));
    document.querySelector("#updated").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (error) {
    document.querySelector("#updated").textContent = "dashboard API unreachable: " + error;
  }
}

refresh();
setInterval(refresh, 2000);
