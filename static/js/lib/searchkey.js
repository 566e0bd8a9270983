// "/" anywhere on a page (not while typing) puts the cursor in the search box: the page's own
// search field when it has one (/ricerca, /archivio), else the one in the top bar.
export function typing(target) {
  if (!target || !target.tagName) return false;
  const tag = target.tagName.toLowerCase();
  return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable === true;
}

export function isSearchKey(event) {
  return event.key === "/" && !event.ctrlKey && !event.metaKey && !event.altKey && !typing(event.target);
}

if (typeof document !== "undefined") {
  document.addEventListener("keydown", (event) => {
    if (!isSearchKey(event)) return;
    const box = document.getElementById("search-q") || document.getElementById("topsearch-q");
    if (!box) return;
    event.preventDefault();
    box.focus();
    box.select();
  });
}
