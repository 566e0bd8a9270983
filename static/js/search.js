// The search page is server-rendered; this only moves the cursor to the first result after a
// search so that Invio opens it, and lets j/k move between results as in the queue.
const links = [...document.querySelectorAll(".search-result-link")];
const params = new URLSearchParams(location.search);
if (links.length && params.get("q") && document.activeElement === document.getElementById("search-q")) {
  links[0].focus();
}
document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const tag = (event.target.tagName || "").toLowerCase();
  if (tag === "input" || tag === "textarea" || tag === "select") return;
  const at = links.indexOf(document.activeElement);
  if (event.key === "j" || event.key === "ArrowDown") {
    event.preventDefault();
    links[Math.min(at + 1, links.length - 1)]?.focus();
  } else if (event.key === "k" || event.key === "ArrowUp") {
    event.preventDefault();
    links[Math.max(at - 1, 0)]?.focus();
  }
});
