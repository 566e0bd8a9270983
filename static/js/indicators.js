// Indicators for a period (/indicatori): referrals by category, referrer and zone; time to
// each milestone; breaches; SLA compliance per milestone and code; the year's trends by week
// and by month. The figures come from GET /api/v1/indicators?from=&to= (the same numbers as
// the CSV links); the period lives in the address. The charts are inline SVG drawn here, each
// an image with a name and, beside it, a table with the same figures; every text is set with
// textContent.
import { api } from "./lib/api.js";
import { el } from "./lib/format.js";
import { URGENCIES } from "./lib/labels.js";

const SVG = "http://www.w3.org/2000/svg";
const $ = (id) => document.getElementById(id);

const form = $("period-form");
const fromInput = $("period-from");
const toInput = $("period-to");
const csvLink = $("csv-link");
const csvLinkIt = $("csv-link-it");
const errorEl = $("indicators-error");
const loadingEl = $("indicators-loading");
const body = $("indicators-body");
const periodEl = $("indicators-period");

const count = new Intl.NumberFormat("it-IT");
const share = new Intl.NumberFormat("it-IT", { style: "percent", maximumFractionDigits: 1 });
const ISO_DAY = /^\d{4}-\d{2}-\d{2}$/;
const MONTHS_SHORT = ["gen", "feb", "mar", "apr", "mag", "giu", "lug", "ago", "set", "ott", "nov", "dic"];

const initial = { from: fromInput.value, to: toInput.value }; // as the server read the address
let loading = 0; // the number of the latest request: older answers are dropped

// ---- formatting ----

/** "28/03/2026" from "2026-03-28", without passing through a time zone. */
function day(iso) {
  const [y, m, d] = String(iso).split("-");
  return `${d}/${m}/${y}`;
}

/** A duration in seconds, in Italian: "45 s", "4 min 05 s", "1 h 30 min", "2 g 3 h". */
export function duration(seconds) {
  if (seconds === null || seconds === undefined) return "—";
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, "0")} s`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, "0")} min`;
  return `${Math.floor(s / 86400)} g ${Math.floor((s % 86400) / 3600)} h`;
}

/** "66,7%" from 66.7 (a percent with one decimal, as the API gives it); "—" for none. */
export function percent(value) {
  return value === null || value === undefined ? "—" : share.format(value / 100);
}

/** "2 in tempo, 1 in ritardo". */
function outcomes(row) {
  return `${count.format(row.on_time)} in tempo, ${count.format(row.late)} in ritardo`;
}

function exactSeconds(seconds) {
  return seconds === null || seconds === undefined ? "" : `${count.format(seconds)} secondi`;
}

// ---- the period ----

function periodFromAddress() {
  const params = new URLSearchParams(location.search);
  return { from: params.get("from") || initial.from, to: params.get("to") || initial.to };
}

function query({ from, to }) {
  const params = new URLSearchParams();
  if (from) params.set("from", from);
  if (to) params.set("to", to);
  return params.toString();
}

function clearFieldErrors() {
  for (const [input, id] of [[fromInput, "period-from-error"], [toInput, "period-to-error"]]) {
    input.removeAttribute("aria-invalid");
    const note = $(id);
    note.textContent = "";
    note.hidden = true;
  }
}

function showFieldError(field, message) {
  const [input, id] = field === "from" ? [fromInput, "period-from-error"] : [toInput, "period-to-error"];
  input.setAttribute("aria-invalid", "true");
  const note = $(id);
  note.textContent = message;
  note.hidden = false;
}

/** The same checks as the server's, before asking it. */
function localProblems({ from, to }) {
  const problems = [];
  if (!ISO_DAY.test(from)) problems.push(["from", "indica il giorno iniziale"]);
  if (!ISO_DAY.test(to)) problems.push(["to", "indica il giorno finale"]);
  if (!problems.length && from > to) problems.push(["from", "la data iniziale è successiva a quella finale"]);
  return problems;
}

function showError(text) {
  errorEl.replaceChildren(el("p", "", text));
  errorEl.hidden = false;
}

// ---- reading ----

async function load(period) {
  const mine = ++loading;
  clearFieldErrors();
  errorEl.hidden = true;
  loadingEl.hidden = false;
  loadingEl.textContent = "Caricamento degli indicatori…";
  const result = await api("GET", `/api/v1/indicators?${query(period)}`, undefined, { fieldErrors: "none" });
  if (mine !== loading) return;
  loadingEl.hidden = true;
  if (result.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    return;
  }
  if (!result.ok) {
    for (const problem of result.errors) {
      const field = String(problem.field).replace(/^query\./, "");
      if (field !== "from" && field !== "to") continue;
      showFieldError(field, problem.type === "period" ? problem.message : "data non valida (formato AAAA-MM-GG)");
    }
    showError(`Impossibile leggere gli indicatori: ${result.detail}`);
    body.hidden = true;
    return;
  }
  render(result.data);
}

// ---- rendering ----

function cell(text, className = "") {
  return el("td", className, text);
}

function countRows(tbody, rows, total) {
  tbody.replaceChildren(
    ...rows.map((row) => {
      const tr = el("tr");
      const th = el("th", "", row.label);
      th.scope = "row";
      tr.append(th, cell(count.format(row.count), "num"), cell(total ? share.format(row.count / total) : "—", "num"));
      return tr;
    }),
  );
}

function durationCell(seconds) {
  const td = cell(duration(seconds), "num");
  if (seconds !== null && seconds !== undefined) td.title = exactSeconds(seconds);
  return td;
}

function timeRows(tbody, milestones) {
  tbody.replaceChildren(
    ...milestones.map((m) => {
      const tr = el("tr");
      const th = el("th", "", m.label);
      th.scope = "row";
      tr.append(th, cell(count.format(m.count), "num"), durationCell(m.median_s), durationCell(m.p90_s));
      return tr;
    }),
  );
}

function urgencyRows(tbody, milestones) {
  const rows = [];
  for (const m of milestones) {
    for (const u of m.by_urgency) {
      if (!u.count) continue;
      const tr = el("tr");
      tr.dataset.urgency = u.urgency;
      const th = el("th", "", m.label);
      th.scope = "row";
      const code = cell("", "urgency-cell");
      const known = URGENCIES.includes(u.urgency);
      code.append(el("span", known ? `urgency-badge urgency-${u.urgency}` : "urgency-badge", u.label));
      tr.append(th, code, cell(count.format(u.count), "num"), durationCell(u.median_s), durationCell(u.p90_s));
      rows.push(tr);
    }
  }
  tbody.replaceChildren(...rows);
  return rows.length;
}

function breachRows(tbody, breaches) {
  tbody.replaceChildren(
    ...breaches.map((b) => {
      const tr = el("tr");
      if (b.still_open) tr.classList.add("has-open");
      const th = el("th", "", b.label);
      th.scope = "row";
      tr.append(th, cell(count.format(b.count), "num"), cell(count.format(b.still_open), "num"));
      return tr;
    }),
  );
}

function svg(tag, attributes = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  return node;
}

/**
 * Horizontal bars, one per row: the label above its bar, the count after it. The SVG is an
 * image with a title and a description that says every figure (the table next to it too).
 */
export function barChart(figure, { id, title, rows, total }) {
  const WIDTH = 560;
  const ROW = 42;
  const BAR = 16;
  const VALUE_ROOM = 90;
  const height = Math.max(rows.length, 1) * ROW + 4;
  const max = Math.max(1, ...rows.map((r) => r.count));
  const chart = svg("svg", {
    viewBox: `0 0 ${WIDTH} ${height}`,
    role: "img",
    "aria-labelledby": `${id}-title ${id}-desc`,
    class: "bars",
    preserveAspectRatio: "xMinYMin meet",
  });
  const titleNode = svg("title", { id: `${id}-title` });
  titleNode.textContent = title;
  const desc = svg("desc", { id: `${id}-desc` });
  desc.textContent = rows.length
    ? `Totale ${count.format(total)}. ` + rows.map((r) => `${r.label}: ${count.format(r.count)}`).join("; ") + "."
    : "Nessun dato nel periodo.";
  chart.append(titleNode, desc);
  rows.forEach((row, i) => {
    const y = i * ROW;
    const label = svg("text", { x: 0, y: y + 14, class: "bar-label" });
    label.textContent = row.label;
    const width = ((WIDTH - VALUE_ROOM) * row.count) / max;
    const bar = svg("rect", { x: 0, y: y + 20, width: Math.max(width, row.count ? 2 : 0), height: BAR, rx: 3, class: "bar" });
    const value = svg("text", { x: width + 8, y: y + 20 + BAR - 3, class: "bar-value" });
    value.textContent = total ? `${count.format(row.count)} (${share.format(row.count / total)})` : count.format(row.count);
    chart.append(label, bar, value);
  });
  const caption = el("figcaption", "visually-hidden", title);
  figure.replaceChildren(chart, caption);
}

function svgText(x, y, text, className, anchor = "start") {
  const node = svg("text", { x, y, class: className, "text-anchor": anchor });
  node.textContent = text;
  return node;
}

/** An SVG image named by `title`; its figures are in the table beside it. */
function chartFrame(figure, { width, height, title, className }) {
  const chart = svg("svg", {
    viewBox: `0 0 ${width} ${height}`,
    role: "img",
    "aria-label": `${title}. Le cifre sono nella tabella accanto.`,
    class: className,
    preserveAspectRatio: "xMinYMin meet",
  });
  const name = svg("title");
  name.textContent = title;
  chart.append(name);
  figure.replaceChildren(chart, el("figcaption", "chart-caption", title));
  return chart;
}

/** The compliance series: every code together, then each code. */
function complianceSeries(milestones) {
  const urgencies = [];
  for (const m of milestones) {
    for (const u of m.by_urgency) if (!urgencies.some((known) => known.urgency === u.urgency)) urgencies.push({ urgency: u.urgency, label: u.label });
  }
  return [{ urgency: "all", label: "Tutti i codici" }, ...urgencies];
}

function complianceOf(milestone, urgency) {
  return urgency === "all" ? milestone : milestone.by_urgency.find((u) => u.urgency === urgency) ?? null;
}

/**
 * Horizontal bars from 0 to 100 %: per milestone a group, one bar for every code together and
 * one per code; a figure with no clock says "nessun dato" instead of a bar.
 */
export function complianceChart(figure, { title, milestones }) {
  const series = complianceSeries(milestones);
  const WIDTH = 640, LABEL = 132, VALUE_ROOM = 70, BAR = 14, STEP = 19, HEAD = 24, AXIS = 22;
  const plot = WIDTH - LABEL - VALUE_ROOM;
  const group = HEAD + series.length * STEP + 8;
  const height = AXIS + milestones.length * group;
  const chart = chartFrame(figure, { width: WIDTH, height, title, className: "chart compliance-chart" });
  for (const tick of [0, 50, 80, 100]) {
    const x = LABEL + (plot * tick) / 100;
    chart.append(svg("line", { x1: x, x2: x, y1: AXIS - 4, y2: height, class: tick === 0 ? "axis" : "gridline" }));
    chart.append(svgText(x, AXIS - 8, `${tick}%`, "axis-label", "middle"));
  }
  milestones.forEach((m, i) => {
    const top = AXIS + i * group;
    chart.append(svgText(0, top + HEAD - 7, m.label, "bar-group"));
    series.forEach((s, j) => {
      const y = top + HEAD + j * STEP;
      const row = complianceOf(m, s.urgency);
      chart.append(svgText(LABEL - 8, y + BAR - 2, s.label, "bar-label", "end"));
      if (!row || row.percent === null || row.percent === undefined) {
        chart.append(svgText(LABEL + 6, y + BAR - 2, "nessun dato", "bar-none"));
        return;
      }
      const width = (plot * row.percent) / 100;
      const bar = svg("rect", { x: LABEL, y, width: Math.max(width, 2), height: BAR, rx: 2, class: `bar bar-${s.urgency}` });
      const tip = svg("title");
      tip.textContent = `${m.label}, ${s.label.toLowerCase()}: ${percent(row.percent)} (${outcomes(row)})`;
      bar.append(tip);
      chart.append(bar, svgText(LABEL + width + 6, y + BAR - 2, percent(row.percent), "bar-value"));
    });
  });
}

function complianceTable(head, tbody, milestones) {
  const series = complianceSeries(milestones);
  const first = el("th", "", "Traguardo");
  first.scope = "col";
  head.replaceChildren(first, ...series.map((s) => {
    const th = el("th", "num", s.label);
    th.scope = "col";
    th.dataset.urgency = s.urgency;
    return th;
  }));
  tbody.replaceChildren(...milestones.map((m) => {
    const tr = el("tr");
    tr.dataset.milestone = m.milestone;
    const th = el("th", "", m.label);
    th.scope = "row";
    tr.append(th, ...series.map((s) => {
      const row = complianceOf(m, s.urgency);
      const td = el("td", "num");
      td.dataset.urgency = s.urgency;
      if (!row) { td.textContent = "—"; return td; }
      td.append(el("strong", "pct", percent(row.percent)), el("br"),
        el("span", "outcomes", `${count.format(row.on_time)} in tempo`), el("br"),
        el("span", "outcomes", `${count.format(row.late)} in ritardo`));
      return td;
    }));
    return tr;
  }));
}

/** "02/11" for a week's Monday, "nov 26" for a month (from an ISO day). */
function shortLabel(iso, monthly) {
  const [y, m, d] = String(iso).split("-");
  return monthly ? `${MONTHS_SHORT[Number(m) - 1]} ${y.slice(2)}` : `${d}/${m}`;
}

/**
 * Columns: the referrals received in each week or month (scale on the left); a line with a dot
 * per point: the compliance of every milestone together (0-100 % on the right), broken where a
 * point has no clock.
 */
export function trendChart(figure, { title, points, monthly }) {
  const WIDTH = 640, HEIGHT = 240, LEFT = 40, RIGHT = 44, TOP = 12, BOTTOM = 34;
  const plotW = WIDTH - LEFT - RIGHT, plotH = HEIGHT - TOP - BOTTOM;
  const chart = chartFrame(figure, { width: WIDTH, height: HEIGHT, title, className: "chart trend-chart" });
  const most = Math.max(1, ...points.map((p) => p.referrals));
  const band = plotW / Math.max(points.length, 1);
  const yCount = (n) => TOP + plotH * (1 - n / most);
  const yPct = (p) => TOP + plotH * (1 - p / 100);
  chart.append(svg("line", { x1: LEFT, x2: LEFT + plotW, y1: TOP + plotH, y2: TOP + plotH, class: "axis" }));
  for (const tick of [0, 50, 100]) {
    chart.append(svg("line", { x1: LEFT, x2: LEFT + plotW, y1: yPct(tick), y2: yPct(tick), class: "gridline" }));
    chart.append(svgText(LEFT + plotW + 6, yPct(tick) + 4, `${tick}%`, "axis-label"));
  }
  chart.append(svgText(LEFT - 6, yCount(most) + 4, count.format(most), "axis-label", "end"));
  chart.append(svgText(LEFT - 6, yCount(0) + 4, "0", "axis-label", "end"));
  const every = monthly ? 1 : 4;
  const segments = [];
  let current = [];
  points.forEach((p, i) => {
    const x = LEFT + i * band;
    const bar = svg("rect", { x: x + band * 0.15, y: yCount(p.referrals), width: band * 0.7, height: plotH * (p.referrals / most), class: "bar trend-bar" });
    const tip = svg("title");
    tip.textContent = `${p.label}: ${count.format(p.referrals)} segnalazioni, rispetto ${percent(p.percent)}`;
    bar.append(tip);
    chart.append(bar);
    if (i % every === 0) chart.append(svgText(x + band / 2, HEIGHT - BOTTOM + 16, shortLabel(p.start, monthly), "axis-label", "middle"));
    if (p.percent === null || p.percent === undefined) {
      if (current.length) segments.push(current);
      current = [];
    } else {
      current.push([x + band / 2, yPct(p.percent)]);
    }
  });
  if (current.length) segments.push(current);
  for (const segment of segments) {
    if (segment.length > 1) chart.append(svg("polyline", { points: segment.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" "), class: "trend-line" }));
    for (const [x, y] of segment) chart.append(svg("circle", { cx: x, cy: y, r: 3, class: "trend-dot" }));
  }
}

function trendRows(tbody, points) {
  tbody.replaceChildren(...points.map((p) => {
    const tr = el("tr");
    tr.dataset.start = p.start;
    const th = el("th", "", p.label);
    th.scope = "row";
    tr.append(th, cell(count.format(p.referrals), "num"), cell(count.format(p.on_time), "num"),
      cell(count.format(p.late), "num"), cell(percent(p.percent), "num"));
    return tr;
  }));
}

function render(data) {
  const period = { from: data.first_day, to: data.last_day };
  fromInput.value = period.from;
  toInput.value = period.to;
  csvLink.href = `/api/v1/indicators.csv?${query(period)}`;
  csvLink.setAttribute("download", `indicatori-${period.from}-${period.to}.csv`);
  csvLinkIt.href = `/api/v1/indicators.it.csv?${query(period)}`;
  csvLinkIt.setAttribute("download", `indicatori-${period.from}-${period.to}-excel.csv`);
  const span = `dal ${day(period.from)} al ${day(period.to)}`;
  periodEl.textContent = `Periodo ${span} (ora italiana)`;
  document.title = `Indicatori ${span} · SEUS · Centrale operativa`;

  const referrals = data.referrals;
  $("referrals-total").textContent = count.format(referrals.total);
  countRows($("by-trigger"), referrals.by_trigger.rows, referrals.total);
  countRows($("by-kind"), referrals.by_referrer_kind.rows, referrals.total);
  countRows($("by-zone"), referrals.by_zone.rows, referrals.total);
  $("by-zone-table").hidden = referrals.by_zone.rows.length === 0;
  $("by-zone-empty").hidden = referrals.by_zone.rows.length !== 0;
  barChart($("chart-trigger"), {
    id: "chart-trigger-svg",
    title: `Segnalazioni per categoria, ${span}`,
    rows: referrals.by_trigger.rows,
    total: referrals.total,
  });
  barChart($("chart-kind"), {
    id: "chart-kind-svg",
    title: `Segnalazioni per ente segnalante, ${span}`,
    rows: referrals.by_referrer_kind.rows,
    total: referrals.total,
  });

  timeRows($("times"), data.time_to_milestone);
  const withUrgency = urgencyRows($("times-urgency"), data.time_to_milestone);
  $("times-urgency-table").hidden = withUrgency === 0;
  $("times-urgency-empty").hidden = withUrgency !== 0;
  breachRows($("breaches"), data.breaches);

  const compliance = `Rispetto dei tempi per traguardo e codice, ${span}`;
  complianceChart($("chart-compliance"), { title: compliance, milestones: data.compliance });
  $("compliance-caption").textContent = compliance;
  complianceTable($("compliance-head"), $("compliance"), data.compliance);
  const weeks = data.trends.weeks, months = data.trends.months;
  const weekly = weeks.length ? `Segnalazioni e rispetto dei tempi per settimana, dal ${day(weeks[0].start)} (${weeks.length} settimane)` : "Andamento per settimana";
  const monthly = months.length ? `Segnalazioni e rispetto dei tempi per mese, da ${months[0].label} a ${months[months.length - 1].label}` : "Andamento per mese";
  trendChart($("chart-weeks"), { title: weekly, points: weeks, monthly: false });
  $("trend-weeks-caption").textContent = weekly;
  trendRows($("trend-weeks"), weeks);
  trendChart($("chart-months"), { title: monthly, points: months, monthly: true });
  $("trend-months-caption").textContent = monthly;
  trendRows($("trend-months"), months);
  $("indicators-as-of").textContent = `Cifre lette in un'unica istantanea (registro eventi fino al n. ${data.as_of}).`;
  body.hidden = false;
}

// ---- the form, the presets and the address ----

function go(period, push = true) {
  const problems = localProblems(period);
  if (problems.length) {
    clearFieldErrors();
    for (const [field, message] of problems) showFieldError(field, message);
    (problems[0][0] === "from" ? fromInput : toInput).focus();
    return;
  }
  if (push) {
    const url = `${location.pathname}?${query(period)}`;
    if (url !== location.pathname + location.search) history.pushState(period, "", url);
  }
  load(period);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  go({ from: fromInput.value, to: toInput.value });
});

for (const link of document.querySelectorAll(".period-preset")) {
  link.addEventListener("click", (event) => {
    event.preventDefault();
    go({ from: link.dataset.from, to: link.dataset.to });
  });
}

window.addEventListener("popstate", () => {
  const period = periodFromAddress();
  fromInput.value = period.from;
  toInput.value = period.to;
  go(period, false);
});

go(initial, false);
