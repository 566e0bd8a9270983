// Keyboard navigation of a list (the room's queue, the open cases): `j`/`k` or the arrows move
// the selection, `Enter` acts on the selected item (unless the focus is on a link or button,
// which does its own thing), `o` opens it; a click on an item (not on its controls) selects it.
// Keys are ignored with Ctrl, Meta or Alt and while typing in a field. The list's items are the
// list element's children, each with `data-id`; the page renders them and tells ListNav.
//
//   const nav = new ListNav({ list, item: ".queue-item", control: ".queue-open",
//     onEnter: (id) => claim(id), onOpen: (id) => open(id), keys: { m: () => mute() } });
//   // render(): const focused = nav.focused(); nav.choose(ids);
//   //           each item: nav.bind(node, id); list.replaceChildren(...); nav.refocus(focused);

const TYPING = "input, textarea, select, [contenteditable]";
const CONTROL = "a, button";

/**
 * What a keydown asks for: "next", "previous", "enter", "open", "key" (one of `keys`) or null.
 * Pure: `key` needs only key, ctrlKey, metaKey, altKey and target.closest.
 */
export function keyAction(key, keys = {}) {
  if (key.ctrlKey || key.metaKey || key.altKey) return null;
  if (key.target?.closest?.(TYPING)) return null;
  switch (key.key) {
    case "j": case "ArrowDown": return "next";
    case "k": case "ArrowUp": return "previous";
    case "Enter": return key.target?.closest?.(CONTROL) ? null : "enter";
    case "o": return "open";
    default: return Object.hasOwn(keys, key.key) ? "key" : null;
  }
}

/** The id `step` places away from `selected` in `ids`, kept within the list (the first when none is). */
export function stepFrom(ids, selected, step) {
  if (!ids.length) return null;
  const at = ids.indexOf(selected);
  return ids[at < 0 ? 0 : Math.min(ids.length - 1, Math.max(0, at + step))];
}

/** The selection once `ids` are shown: the same item while it is there, else the first. */
export function keepSelection(ids, selected) {
  return selected !== null && ids.includes(selected) ? selected : (ids[0] ?? null);
}

export class ListNav {
  /**
   * list: the element whose children are the items; item: their selector (to find the item
   * that has the focus); control: the selector, inside an item, of what takes the focus;
   * onEnter(id), onOpen(id): Enter and `o` on the selected item; keys: other keys of the page,
   * each a function of the keydown event (same guards: no modifier, not typing).
   */
  constructor({ list, item, control, onEnter, onOpen, keys = {}, root = document }) {
    Object.assign(this, { list, item, control, onEnter, onOpen, keys });
    this.selected = null;
    root.addEventListener("keydown", (key) => this.keydown(key));
  }

  keydown(key) {
    switch (keyAction(key, this.keys)) {
      case "next": key.preventDefault(); this.move(1); break;
      case "previous": key.preventDefault(); this.move(-1); break;
      case "enter":
        if (this.selected !== null) { key.preventDefault(); this.onEnter(this.selected); }
        break;
      case "open": if (this.selected !== null) this.onOpen(this.selected); break;
      case "key": this.keys[key.key](key); break;
    }
  }

  /** The ids of the items shown, in order. */
  ids() {
    return [...this.list.children].map((node) => Number(node.dataset.id));
  }

  /** Before a re-render: the id of the item that has the focus (null: none). */
  focused() {
    return Number(document.activeElement?.closest?.(this.item)?.dataset.id) || null;
  }

  /** Before a re-render: the selection for the ids about to be shown. */
  choose(ids) {
    this.selected = keepSelection(ids, this.selected);
    return this.selected;
  }

  /** A rendered item: marked when selected; a click on it (not on a control) selects it. */
  bind(node, id) {
    if (id === this.selected) node.classList.add("is-selected");
    node.addEventListener("click", (click) => {
      if (click.target.closest(CONTROL)) return;
      this.select(id, false);
    });
    return node;
  }

  /** After a re-render: the focus back on the item that had it, when it is still shown. */
  refocus(id) {
    if (id !== null && this.ids().includes(id)) this.focus(id);
  }

  focus(id) {
    this.list.querySelector(`${this.item}[data-id="${id}"]`)?.querySelector(this.control)?.focus();
  }

  select(id, focus = true) {
    this.selected = id;
    for (const node of this.list.children) node.classList.toggle("is-selected", Number(node.dataset.id) === id);
    if (focus) this.focus(id);
  }

  move(step) {
    const ids = this.ids();
    const next = stepFrom(ids, this.selected, step);
    if (next === null) return;
    this.select(next);
    this.list.children[ids.indexOf(next)].scrollIntoView({ block: "nearest" });
  }
}
