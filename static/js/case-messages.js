// The case page's messages to its units (issue 13): what the room wrote to which unit, whether
// the crew has read it, live; and, for who manages the case, a form to write to one unit or to
// every unit working on the case.
//
//   const messages = unitMessages({ caseId, canManage });
//   messages.units(assignments);   // after each read of the case: who can be written to
//   messages.apply(event);         // unit.message_sent / unit.message_acknowledged
//   messages.reload();             // on a snapshot (the stream had a gap)
import { api } from "./lib/api.js";
import { announce, el, romeTime } from "./lib/format.js";

const $ = (id) => document.getElementById(id);

export function unitMessages({ caseId, canManage }) {
  const byId = new Map(); // message id -> message (as the API and the events give it)
  const list = $("unit-messages");
  const form = $("unit-message-form");
  const to = $("unit-message-to");
  const body = $("unit-message-body");
  const error = $("unit-message-body-error");
  const status = $("unit-message-status");

  function render() {
    const all = [...byId.values()].sort((a, b) => b.id - a.id);
    $("unit-messages-empty").hidden = all.length > 0;
    list.replaceChildren(...all.map((m) => {
      const item = el("li", `item unit-message${m.acknowledged_at ? " is-read" : " is-unread"}`);
      item.dataset.messageId = String(m.id);
      item.append(el("p", "free-text", m.body));
      const meta = el("p", "item-meta");
      meta.append(`a ${m.unit_name} · ${romeTime(m.sent_at)} · ${m.author_name} · `);
      meta.append(el("strong", "unit-message-read", m.acknowledged_at
        ? `letto alle ${romeTime(m.acknowledged_at)}` : "non ancora letto"));
      item.append(meta);
      return item;
    }));
  }

  async function reload() {
    const result = await api("GET", `/api/v1/cases/${caseId}/unit-messages`);
    if (!result.ok) return;
    byId.clear();
    for (const m of result.data.messages) byId.set(m.id, m);
    render();
  }

  function apply(event) {
    const m = event?.payload ?? {};
    if (Number(m.case_id) !== caseId) return;
    if (event.type !== "unit.message_sent" && event.type !== "unit.message_acknowledged") return;
    const known = byId.get(m.id);
    byId.set(m.id, { ...known, ...m });
    render();
    if (event.type === "unit.message_acknowledged") announce($("live-announcer"), `${m.unit_name} ha letto il messaggio`);
  }

  function units(assignments) {
    if (!canManage || !form) return;
    const active = (assignments ?? []).filter((a) => a.active);
    form.hidden = active.length === 0;
    const chosen = to.value;
    const options = [];
    if (active.length > 1) options.push(["case", "Tutte le unità del caso"]);
    for (const a of active) options.push([`unit:${a.unit_id}`, a.unit_name]);
    to.replaceChildren(...options.map(([value, label]) => {
      const option = el("option", "", label);
      option.value = value;
      return option;
    }));
    if (options.some(([value]) => value === chosen)) to.value = chosen;
  }

  function showError(text) {
    error.textContent = text;
    error.hidden = !text;
    if (text) body.setAttribute("aria-invalid", "true");
    else body.removeAttribute("aria-invalid");
  }

  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    status.textContent = "";
    const text = body.value.trim();
    if (!text) {
      showError("Scrivi il messaggio.");
      body.focus();
      return;
    }
    const target = to.value === "case" ? { case_id: caseId } : { unit_id: Number(to.value.replace("unit:", "")) };
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    const result = await api("POST", "/api/v1/unit-messages", { body: text, ...target }, { fieldErrors: "none" });
    button.disabled = false;
    if (result.ok) {
      body.value = "";
      for (const m of result.data.messages) byId.set(m.id, { ...byId.get(m.id), ...m });
      render();
      status.textContent = result.data.messages.length > 1
        ? `Messaggio inviato a ${result.data.messages.length} unità.` : `Messaggio inviato a ${result.data.messages[0].unit_name}.`;
      return;
    }
    const atBody = (result.errors ?? []).find((p) => String(p.field).endsWith("body"));
    if (atBody) showError(atBody.message);
    else status.textContent = result.detail;
  });

  return { apply, reload, units };
}
