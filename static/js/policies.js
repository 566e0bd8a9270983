// The SLA policy page: each milestone's form is sent as PUT /api/v1/sla/policies/{milestone};
// "Ripristina questa versione" is POST /api/v1/sla/policies/{milestone}/restore. Targets are
// read here (lib/durations.js); warnings go as typed ("0,5", "50%") and the API reads them.
// Every problem is shown in Italian next to its field. After a save or a restore the
// milestone's panel (form and history) is drawn again from the server's page.
import { api } from "./lib/api.js";
import { URGENCIES } from "./lib/labels.js";
import { readTarget, readWorkingDays } from "./lib/durations.js";

const root = document.getElementById("policies");
const RULES = ["starts_on", "stops_on", "cancels_on", "pauses_on", "resumes_on"];
const REFUSED = "Non salvato: correggere i campi indicati.";

// The API's own checks (pydantic's types) in Italian; its other problems are Italian already.
const TYPE_MESSAGES = {
  missing: "Campo obbligatorio.",
  float_type: "Scrivere un numero.",
  string_type: "Valore non valido.",
  int_type: "Scrivere un numero intero.",
  greater_than_equal: "Valore troppo basso.",
  less_than_equal: "Valore troppo alto.",
  string_pattern_mismatch: "Orario non valido (hh:mm).",
  literal_error: "Scegliere un valore dall'elenco.",
  too_long: "Troppi valori.",
  value_error: "Valore non valido.",
};

function italian(problem) {
  const type = String(problem?.type ?? "");
  if (type === "invalid") return String(problem.message ?? "");
  return TYPE_MESSAGES[type] ?? "Valore non valido.";
}

const input = (form, name) => form.elements.namedItem(name);

/** The form as the API's body, with the problems found before sending. */
function read(form) {
  const m = form.dataset.milestone;
  const problems = [];
  const calendar = input(form, "calendar").value;
  const targets = {};
  for (const urgency of URGENCIES) {
    const field = (name) => input(form, `${urgency}-${name}`);
    const mode = calendar === "working_days" ? field("mode").value : "time";
    const slot = `${m}-${urgency}-error`;
    if (mode === "days") {
      const got = readWorkingDays(field("days").value);
      if (got.problem) problems.push({ slot, message: got.problem, inputs: [field("days")] });
      else targets[urgency] = { working_days: got.days };
    } else {
      const got = readTarget(field("hours").value, field("minutes").value, field("seconds")?.value ?? "");
      if (got.problem) {
        problems.push({ slot, message: got.problem, inputs: got.fields.map(field).filter(Boolean) });
      } else {
        targets[urgency] = { seconds: got.seconds };
      }
    }
  }
  const warningInputs = [...form.querySelectorAll('input[name="warning"]')].filter((el) => el.value.trim());
  const rules = {};
  for (const name of RULES) {
    rules[name] = [...form.querySelectorAll(`input[name="${name}"]:checked`)].map((el) => el.value);
  }
  const body = {
    calendar,
    opens: input(form, "opens").value,
    closes: input(form, "closes").value,
    extra_holidays: input(form, "extra_holidays").value.split(/[\s,;]+/).filter(Boolean),
    warnings: warningInputs.map((el) => el.value.trim()),
    targets,
    ...rules,
  };
  return { body, problems, warningInputs };
}

/** Where an API problem goes: its error slot and the inputs at fault. */
function placeOf(form, field, warningInputs) {
  const m = form.dataset.milestone;
  const [head, second] = field.split(".");
  if (head === "warnings" && second !== undefined && warningInputs[Number(second)]) {
    const el = warningInputs[Number(second)];
    return { slot: `${el.id}-error`, inputs: [el] };
  }
  if (head === "targets" && URGENCIES.includes(second)) {
    const box = form.querySelector(`.target[data-urgency="${second}"]`);
    const inputs = [...box.querySelectorAll("input")].filter((el) => !el.closest("[hidden]"));
    return { slot: `${m}-${second}-error`, inputs };
  }
  if (head === "extra_holidays") return { slot: `${m}-holidays-error`, inputs: [input(form, "extra_holidays")] };
  const slot = form.querySelector(`[data-error-for="${CSS.escape(head)}"]`);
  if (slot) {
    const inputs = RULES.includes(head) ? [] : [input(form, head)].filter((el) => el instanceof HTMLElement);
    return { slot: slot.id, inputs };
  }
  return { slot: `${m}-error`, inputs: [] };
}

function clear(form) {
  for (const slot of form.querySelectorAll(".field-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  for (const el of form.querySelectorAll('[aria-invalid="true"]')) el.removeAttribute("aria-invalid");
}

function show(form, problems) {
  let first = null;
  for (const { slot, message, inputs } of problems) {
    const el = document.getElementById(slot);
    if (el) {
      el.textContent = el.hidden || !el.textContent ? message : `${el.textContent} ${message}`;
      el.hidden = false;
    }
    for (const field of inputs) {
      field.setAttribute("aria-invalid", "true");
      first ??= field;
    }
  }
  (first ?? form.querySelector(".field-error:not([hidden])"))?.focus?.();
}

function tell(panel, text, isError = false) {
  const result = panel.querySelector(".policy-result");
  result.textContent = text;
  result.classList.toggle("is-error", isError);
}

/** Draw the milestone's panel again from the server's page (values as stored, history). */
async function redraw(milestone, message) {
  const panel = document.getElementById(`policy-${milestone}`);
  try {
    const response = await fetch("/tempi", { credentials: "same-origin", headers: { Accept: "text/html" } });
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = page.getElementById(`policy-${milestone}`);
    if (response.ok && fresh) {
      const drawn = document.importNode(fresh, true);
      panel.replaceWith(drawn);
      drawn.querySelector("h2").focus(); // the button pressed is gone: keep the place
      setTimeout(() => tell(drawn, message), 50); // a live region just inserted, then spoken
      return;
    }
  } catch {
    // the change is saved; only the redraw failed
  }
  tell(panel, `${message} Ricaricare la pagina per vedere lo storico.`);
}

async function save(form) {
  const panel = form.closest(".policy-panel");
  clear(form);
  const { body, problems, warningInputs } = read(form);
  if (problems.length) {
    show(form, problems);
    tell(panel, REFUSED, true);
    return;
  }
  tell(panel, "Salvataggio…");
  const answer = await api("PUT", `/api/v1/sla/policies/${form.dataset.milestone}`, body, { fieldErrors: "none" });
  if (answer.ok) {
    await redraw(form.dataset.milestone, "Salvato.");
    return;
  }
  if (answer.errors.length) {
    show(form, answer.errors.map((problem) => ({
      ...placeOf(form, String(problem.field ?? ""), warningInputs),
      message: italian(problem),
    })));
  }
  tell(panel, answer.status === 422 ? REFUSED : answer.detail, true);
}

async function restore(button) {
  const panel = button.closest(".policy-panel");
  const milestone = panel.dataset.milestone;
  const version = Number(button.dataset.version);
  button.disabled = true;
  tell(panel, "Ripristino…");
  const answer = await api("POST", `/api/v1/sla/policies/${milestone}/restore`, { version_id: version }, {
    fieldErrors: "message",
  });
  if (answer.ok) {
    await redraw(milestone, `Versione ${version} ripristinata.`);
    return;
  }
  button.disabled = false;
  tell(panel, answer.detail, true);
}

/** Working-day targets are offered only with the working-day calendar. */
function followCalendar(form) {
  const workingDays = input(form, "calendar").value === "working_days";
  for (const box of form.querySelectorAll(".target")) {
    const mode = box.querySelector("select");
    if (!workingDays) mode.value = "time";
    box.querySelector(".target-mode").hidden = !workingDays;
    followMode(box);
  }
}

function followMode(box) {
  const days = box.querySelector("select").value === "days";
  box.dataset.mode = days ? "days" : "time";
  box.querySelector(".target-time").hidden = days;
  box.querySelector(".target-days").hidden = !days;
}

root.addEventListener("submit", (event) => {
  const form = event.target.closest("form.policy");
  if (!form) return;
  event.preventDefault();
  save(form);
});
root.addEventListener("click", (event) => {
  const button = event.target.closest("button.restore");
  if (button) restore(button);
});
root.addEventListener("change", (event) => {
  const form = event.target.closest("form.policy");
  if (!form) return;
  if (event.target.name === "calendar") followCalendar(form);
  else if (event.target.name?.endsWith("-mode")) followMode(event.target.closest(".target"));
});
root.addEventListener("input", (event) => {
  if (event.target.getAttribute?.("aria-invalid") === "true") event.target.removeAttribute("aria-invalid");
});
