// Building DOM nodes from data. Every value from the API goes in as a text node
// (textContent), never as markup: there is deliberately no helper that parses HTML.

const SVG_NS = "http://www.w3.org/2000/svg";

function append(parent, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

function applyAttrs(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "dataset") {
      Object.assign(el.dataset, value);
    } else if (name === "value" && "value" in el) {
      el.value = value;
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

/** h("tag", {attrs}, ...children): an element whose children are nodes or text. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

/** The same for SVG elements (charts). */
export function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  applyAttrs(el, attrs);
  append(el, children);
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function replace(el, ...children) {
  clear(el);
  append(el, children);
  return el;
}

/** Pretty JSON for <pre> blocks (still inserted as text). */
export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

export function when(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

export function short(id) {
  if (!id) return "—";
  const text = String(id);
  return text.length > 18 ? text.slice(0, 16) + "…" : text;
}

/** A status line that views reuse for errors and notices. */
export function notice(kind, text) {
  return h("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
}

export function table(headers, rows, attrs) {
  return h(
    "table",
    attrs || {},
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        headers.map((x) => h("th", {}, x)),
      ),
    ),
    h("tbody", {}, rows),
  );
}

export function link(href, text, attrs) {
  return h("a", { href, ...(attrs || {}) }, text);
}

export function badge(state) {
  return h("span", { class: `badge state-${String(state).toLowerCase()}` }, state);
}
