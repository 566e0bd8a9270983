// The SLA policy page: each milestone's form is sent as PUT /api/v1/sla/policies/{milestone}.
import { api } from "./lib/api.js";
import { URGENCIES } from "./lib/labels.js";

function list(text) {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

function body(form) {
  const data = new FormData(form);
  const targets = {};
  for (const urgency of URGENCIES) {
    const minutes = String(data.get(`${urgency}-minutes`) ?? "").trim();
    const days = String(data.get(`${urgency}-days`) ?? "").trim();
    targets[urgency] = days
      ? { working_days: Number(days) }
      : { seconds: Math.round(Number(minutes.replace(",", ".")) * 60) };
  }
  const rules = {};
  for (const name of ["starts_on", "stops_on", "cancels_on", "pauses_on", "resumes_on"]) {
    rules[name] = [...form.elements[name].selectedOptions].map((o) => o.value);
  }
  return {
    calendar: data.get("calendar"),
    opens: data.get("opens"),
    closes: data.get("closes"),
    warnings: list(String(data.get("warnings") ?? "")).map((w) => Number(w.replace(",", "."))),
    extra_holidays: list(String(data.get("extra_holidays") ?? "")),
    targets,
    ...rules,
  };
}

for (const form of document.querySelectorAll("form.policy")) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const result = form.querySelector(".policy-result");
    result.textContent = "Salvataggio…";
    const answer = await api("PUT", `/api/v1/sla/policies/${form.dataset.milestone}`, body(form));
    result.textContent = answer.ok ? "Salvato." : answer.detail;
    result.classList.toggle("is-error", !answer.ok);
  });
}
