// urumi dashboard: the page. No build step, no framework: the server pushes state over
// Server-Sent Events and this script renders it. Every DOM node is built with createElement and
// textContent, never innerHTML, so nothing a store name or a message holds can run as markup.
"use strict";

const TOKEN = document.querySelector('meta[name="urumi-token"]').content;
const STATUS_MARK = { ready: "✓", provisioning: "…", deleting: "…", failed: "✗" };
const STEP_MARK = { ok: "✓", fail: "✗", run: "…" };
const COMPONENT_MARK = { ready: "✓", failed: "✗", waiting: "…" };

const state = { context: "", stores: [], ops: new Map(), expanded: new Set(), details: new Map(),
                creds: new Map(), dismissed: new Set() };
const $ = (sel) => document.querySelector(sel);

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "className") el.className = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

async function api(method, path, body) {
  const init = { method, cache: "no-store", credentials: "same-origin", headers: { "X-Urumi-Token": TOKEN } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) {
    const err = new Error((data.error && data.error.message) || `${response.status} ${response.statusText}`);
    err.info = data.error || { message: err.message };
    throw err;
  }
  return data;
}

// The CLI's error line: "<message> (hint: <hint>)", with details underneath.
function errorNodes(info) {
  return [
    h("strong", {}, "error: "), info.message,
    info.hint ? h("span", { className: "hint" }, ` (hint: ${info.hint})`) : null,
    info.details ? h("pre", {}, info.details) : null,
  ];
}

function age(iso) {
  const then = Date.parse(iso || "");
  if (Number.isNaN(then)) return "-";
  const s = Math.max(0, Math.round((Date.now() - then) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

// -- the store table ----------------------------------------------------------------------------
function storeRow(store) {
  const name = store.name;
  const busy = [...state.ops.values()].some((op) => op.store === name && op.state === "running");
  const open = state.expanded.has(name);
  const actions = store.live ? [
    h("button", { type: "button", className: "secondary", "data-action": "details", "data-name": name,
                  "aria-expanded": String(open), "aria-controls": `details-${name}`,
                  onclick: () => toggleDetails(name) }, open ? "Hide details" : "Details"),
    h("button", { type: "button", className: "secondary", "data-action": "delete", "data-name": name,
                  disabled: busy || store.status === "deleting", onclick: () => askDelete(name) }, "Delete"),
  ] : [h("span", { className: "muted" }, `cluster ${store.cluster} (not live)`)];
  return h("tr", { className: "store", "data-store": name, "data-status": store.status },
    h("td", { "data-label": "Name" }, h("strong", {}, name)),
    h("td", { "data-label": "Type" }, store.type || "-"),
    h("td", { "data-label": "Status" }, h("span", { className: `status ${store.status}` },
      h("span", { "aria-hidden": "true" }, `${STATUS_MARK[store.status] || "?"} `), store.status)),
    h("td", { "data-label": "URL" }, store.url
      ? h("a", { href: store.url, target: "_blank", rel: "noopener noreferrer", "data-action": "visit" },
          "Visit store", h("span", { className: "sr-only" }, ` ${name} (${store.url})`))
      : "-"),
    h("td", { "data-label": "Age", title: store.created_at }, age(store.created_at)),
    h("td", { "data-label": "Message", className: "message" }, store.message || (store.status === "ready" ? "" : "-")),
    h("td", { className: "actions" }, actions),
  );
}

function detailsRow(store) {
  const info = state.details.get(store.name);
  const creds = state.creds.get(store.name);
  const body = [];
  if (!info) body.push(h("p", {}, "loading…"));
  else if (info.error) body.push(h("p", { className: "error" }, errorNodes(info.error)));
  else {
    body.push(h("h3", {}, "Components"),
      h("ul", {}, (info.components.length ? info.components : [{ name: "-", ready: false, detail: "no workloads found" }])
        .map((c) => h("li", { className: "comp" }, h("span", { className: `mark ${c.ready ? "ok" : "run"}`, "aria-hidden": "true" },
          c.ready ? "✓" : "…"), `${c.name}: ${c.ready ? "ready" : "not ready"} — ${c.detail}`))),
      h("h3", {}, "Recent events and diagnostics"),
      h("ul", {}, (info.diagnostics.length ? info.diagnostics : ["no failing pods, no warning events"])
        .map((line) => h("li", {}, line))));
  }
  if (creds && creds.error) body.push(h("p", { className: "error" }, errorNodes(creds.error)));
  else if (creds) {
    body.push(h("h3", {}, "Admin login"), h("dl", { className: "creds", "data-creds": store.name },
      h("dt", {}, "Admin URL"), h("dd", {}, creds.admin_url ? h("a", { href: creds.admin_url, target: "_blank",
        rel: "noopener noreferrer" }, creds.admin_url) : "-"),
      h("dt", {}, "Username"), h("dd", {}, creds.username),
      h("dt", {}, "Password"), h("dd", {}, creds.password)),
      h("button", { type: "button", className: "secondary", "data-action": "hide-creds", "data-name": store.name,
                    onclick: () => { state.creds.delete(store.name); renderStores(); } }, "Hide credentials"));
  } else {
    body.push(h("button", { type: "button", className: "secondary", "data-action": "creds", "data-name": store.name,
                            onclick: () => revealCredentials(store.name) }, "Reveal credentials"));
  }
  return h("tr", { className: "details", id: `details-${store.name}` },
    h("td", { colspan: "7" }, h("div", { className: "details" }, body)));
}

// Re-rendering replaces the rows: keep keyboard focus on the same control of the same store.
function renderStores() {
  const active = document.activeElement;
  const focus = active && active.dataset && active.dataset.action
    ? { action: active.dataset.action, name: active.dataset.name } : null;
  const rows = [];
  for (const store of state.stores) {
    rows.push(storeRow(store));
    if (store.live && state.expanded.has(store.name)) rows.push(detailsRow(store));
  }
  $("#stores tbody").replaceChildren(...rows);
  $("#empty").hidden = state.stores.length > 0;
  $("#stores").hidden = state.stores.length === 0;
  if (focus) {
    const again = [...document.querySelectorAll(`[data-action="${focus.action}"]`)]
      .find((el) => el.dataset.name === focus.name);
    if (again) again.focus();
  }
}

async function loadDetails(name) {
  try {
    state.details.set(name, await api("GET", `/api/stores/${encodeURIComponent(name)}`));
  } catch (err) {
    state.details.set(name, { error: err.info });
  }
  renderStores();
}

function toggleDetails(name) {
  if (state.expanded.has(name)) {
    state.expanded.delete(name);
    state.creds.delete(name);  // a secret is on the page only while its store is open
  } else {
    state.expanded.add(name);
    state.details.delete(name);
    loadDetails(name);
  }
  renderStores();
}

async function revealCredentials(name) {
  try {
    state.creds.set(name, await api("POST", `/api/stores/${encodeURIComponent(name)}/credentials`, {}));
  } catch (err) {
    state.creds.set(name, { error: err.info });
  }
  renderStores();
}

// -- progress of creates and deletes (the terminal's lines) -------------------------------------
function opNode(op) {
  const verb = op.kind === "create" ? `Creating ${op.store} (${op.type})` : `Deleting ${op.store}`;
  const outcome = op.state === "running" ? "in progress" : op.state === "ok"
    ? (op.kind === "create" ? "ready" : "deleted") : "failed";
  return h("div", { className: "op", "data-op": op.id, "data-store": op.store, "data-kind": op.kind, "data-state": op.state },
    h("h3", {}, h("span", { className: `mark ${op.state === "ok" ? "ok" : op.state === "failed" ? "fail" : "run"}`,
                            "aria-hidden": "true" }, op.state === "ok" ? "✓" : op.state === "failed" ? "✗" : "…"),
      `${verb}: ${outcome}`,
      op.state !== "running" ? h("button", { type: "button", className: "secondary", "data-action": "dismiss",
        "data-name": String(op.id), onclick: () => { state.dismissed.add(op.id); renderOps(); } }, "Dismiss") : null),
    h("ul", {},
      op.steps.map((s) => h("li", { "data-step": s.key }, h("span", { className: `mark ${s.state}`, "aria-hidden": "true" },
        STEP_MARK[s.state] || "?"), h("span", { className: "sr-only" }, `${s.state === "run" ? "running" : s.state}: `), s.text)),
      op.components.map((c) => h("li", { className: "comp", "data-component": c.name },
        h("span", { className: `mark ${c.state === "ready" ? "ok" : c.state === "failed" ? "fail" : "run"}`, "aria-hidden": "true" },
          COMPONENT_MARK[c.state]), `${c.name.padEnd(9, "\u00a0")} ${c.state}: ${c.detail}`))),
    op.error ? h("div", { className: "error", role: "alert" }, errorNodes(op.error)) : null);
}

function renderOps() {
  const shown = [...state.ops.values()].filter((op) => !state.dismissed.has(op.id)).sort((a, b) => b.id - a.id);
  $("#ops").replaceChildren(...shown.map(opNode));
  $("#ops-section").hidden = shown.length === 0;
}

// -- forms --------------------------------------------------------------------------------------
$("#create-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const name = $("#name").value;
  const type = $("#type").value;
  const error = $("#create-error");
  const button = $("#create-button");
  error.replaceChildren();
  $("#name").removeAttribute("aria-invalid");
  button.disabled = true;
  try {
    const op = await api("POST", "/api/stores", { name, type });
    state.ops.set(op.id, op);
    renderOps();
    $("#name").value = "";
  } catch (err) {
    error.replaceChildren(...errorNodes(err.info));
    $("#name").setAttribute("aria-invalid", "true");
    $("#name").focus();
  } finally {
    button.disabled = false;
  }
});

let deleting = null;
let deleteOpener = null;
function askDelete(name) {
  deleting = name;
  deleteOpener = document.activeElement;
  $("#delete-name").textContent = name;
  $("#delete-confirm").value = "";
  $("#delete-ok").disabled = true;
  $("#delete-error").replaceChildren();
  $("#delete-dialog").showModal();
  $("#delete-confirm").focus();
}
$("#delete-confirm").addEventListener("input", () => { $("#delete-ok").disabled = $("#delete-confirm").value !== deleting; });
$("#delete-cancel").addEventListener("click", () => $("#delete-dialog").close());
$("#delete-dialog").addEventListener("close", () => { if (deleteOpener && deleteOpener.isConnected) deleteOpener.focus(); });
$("#delete-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  try {
    const op = await api("DELETE", `/api/stores/${encodeURIComponent(deleting)}`, { confirm: $("#delete-confirm").value });
    state.ops.set(op.id, op);
    $("#delete-dialog").close();
    renderOps();
    renderStores();
  } catch (err) {
    $("#delete-error").replaceChildren(...errorNodes(err.info));
  }
});

// -- live state from the server -----------------------------------------------------------------
function setConnection(conn) {
  const el = $("#connection");
  el.className = `connection ${conn.ok ? "ok" : "bad"}`;
  el.textContent = conn.ok ? "live" : `not live: ${conn.message}`;
}

function setStores(stores) {
  const before = new Map(state.stores.map((s) => [s.name, `${s.status}|${s.message}`]));
  state.stores = stores;
  for (const store of stores) {  // an open store whose state moved: its diagnostics did too
    if (state.expanded.has(store.name) && before.get(store.name) !== `${store.status}|${store.message}`) loadDetails(store.name);
  }
  const names = new Set(stores.map((s) => s.name));
  for (const name of [...state.expanded]) if (!names.has(name)) { state.expanded.delete(name); state.creds.delete(name); }
  renderStores();
}

function connect() {
  const source = new EventSource("/api/events");
  source.addEventListener("hello", (event) => {
    const data = JSON.parse(event.data);
    state.context = data.context;
    $("#context").textContent = `context ${data.context}${data.all_clusters ? " (and records of every other context)" : ""}`;
    state.ops = new Map(data.ops.map((op) => [op.id, op]));
    setConnection(data.connection);
    setStores(data.stores);
    renderOps();
  });
  source.addEventListener("stores", (event) => setStores(JSON.parse(event.data).stores));
  source.addEventListener("op", (event) => {
    const op = JSON.parse(event.data);
    state.ops.set(op.id, op);
    renderOps();
    renderStores();  // a running op disables that store's Delete
  });
  source.addEventListener("connection", (event) => setConnection(JSON.parse(event.data)));
  source.addEventListener("error", () => {  // EventSource reconnects by itself; say so meanwhile
    if (source.readyState !== EventSource.OPEN) setConnection({ ok: false, message: "reconnecting to urumi dashboard…" });
  });
}

setInterval(() => document.querySelectorAll("td[data-label='Age']").forEach((td) => { td.textContent = age(td.title); }), 30000);
connect();
