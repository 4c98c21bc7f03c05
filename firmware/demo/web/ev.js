// The driver's page: one websocket to the demo backend (/live), pushed states in, taps out. No framework.
"use strict";
const query = new URLSearchParams(location.search);
const chargePoint = query.get("cp");
const connector = query.get("connector");
const $ = (id) => document.getElementById(id);
let chosen = null;
let socket = null;
let lastState = null;
let dismissed = null;  // the finished session whose receipt the driver closed

function show(section) {
  for (const id of ["choose", "waiting", "live", "receipt"]) $(id).hidden = id !== section;
}

function say(text) {
  $("message").textContent = text || "";
  $("message").hidden = !text;
}

function money(value, tariff) { return `${Number(value).toFixed(2)} ${tariff.currency}`; }

function duration(startedAt) {
  if (!startedAt) return "0:00";
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function choose(budget) {
  chosen = budget;
  for (const button of $("budgets").children) {
    button.setAttribute("aria-pressed", String(Number(button.dataset.budget) === budget));
  }
  $("start").disabled = !(budget > 0);
}

function renderChoice(state) {
  const tariff = state.tariff;
  $("price").textContent = `Price: ${money(tariff.price_per_kwh, tariff)} per kWh, `
    + `up to ${tariff.max_current_a} A. You pay only for the energy you charge, up to your budget.`;
  if ($("budgets").children.length === 0) {
    for (const budget of tariff.budgets) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "budget";
      button.dataset.budget = budget;
      button.textContent = money(budget, tariff);
      button.addEventListener("click", () => { $("custom").value = ""; choose(budget); });
      $("budgets").appendChild(button);
    }
  }
  show("choose");
}

function render(state) {
  lastState = state;
  $("charger").textContent = `Charger ${state.charge_point}, connector ${state.connector}`;
  $("status").textContent = state.status;
  document.querySelectorAll(".currency").forEach((e) => { e.textContent = state.tariff.currency; });
  const session = state.session;
  if (!session || (session.state === "done" && (!session.started_at || session.id_tag === dismissed))) {
    if (session && session.id_tag !== dismissed) say(session.reason);
    renderChoice(state);
  } else if (session.state === "waiting") {
    say("");
    show("waiting");
  } else if (session.state === "charging" || session.state === "stopping") {
    say(session.state === "stopping" ? `Stopping: ${session.reason}` : "");
    $("energy").textContent = (session.energy_wh / 1000).toFixed(3);
    $("power").textContent = (session.power_w / 1000).toFixed(1);
    $("cost").textContent = Number(session.cost).toFixed(2);
    $("budget").textContent = money(session.budget, state.tariff);
    $("duration").textContent = duration(session.started_at);
    show("live");
  } else if (session.state === "done") {
    say(session.reason);
    fetch(`/receipt?session=${encodeURIComponent(session.id_tag)}`).then((r) => r.ok ? r.text() : "")
      .then((text) => { $("receipt-text").textContent = text; });
    $("receipt-download").href = `/receipt?session=${encodeURIComponent(session.id_tag)}`;
    show("receipt");
  } else {  // timeout, rejected
    say(session.reason);
    renderChoice(state);
  }
}

function send(tap) {
  if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(tap));
}

function connect() {
  socket = new WebSocket(`ws://${location.host}/live?cp=${encodeURIComponent(chargePoint)}`
    + `&connector=${encodeURIComponent(connector)}`);
  socket.onmessage = (event) => {
    const data = JSON.parse(event.data);
    if (data.error) say(data.error); else render(data);
  };
  socket.onclose = () => { say("Connection lost, reconnecting…"); setTimeout(connect, 2000); };
}

$("custom").addEventListener("input", () => choose(Number($("custom").value)));
$("start").addEventListener("click", () => { $("start").disabled = true; send({action: "start", budget: chosen}); });
document.querySelectorAll(".stop").forEach((b) => b.addEventListener("click", () => send({action: "stop"})));
$("again").addEventListener("click", () => {
  say("");
  if (lastState && lastState.session) dismissed = lastState.session.id_tag;
  if (lastState) renderChoice(lastState);
});
setInterval(() => {
  if (lastState && lastState.session && lastState.session.state === "charging") {
    $("duration").textContent = duration(lastState.session.started_at);
  }
}, 1000);
connect();
