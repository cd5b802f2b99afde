// Small DOM helpers. Every piece of text enters the page through textContent or a text
// node, never as HTML, so nothing a person, a document or the app writes can become markup.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// Only http(s) URLs become links; anything else (javascript:, data:, relative) stays text.
export function safeUrl(raw) {
  if (typeof raw !== "string" || !raw) return null;
  try {
    const url = new URL(raw);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

export function externalLink(href, text, className) {
  const a = el("a", className, text);
  a.href = href;
  a.rel = "noopener noreferrer";
  a.target = "_blank";
  a.title = href;
  return a;
}

export function formatTime(ts) {
  const date = new Date(Number.parseFloat(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function initials(name) {
  const parts = String(name || "?").split(/[\s.]+/).filter(Boolean);
  return (parts[0]?.[0] || "?").toUpperCase() + (parts[1]?.[0] || "").toUpperCase();
}

export function hue(id) {
  let h = 0;
  for (const c of String(id)) h = (h * 31 + c.charCodeAt(0)) % 360;
  return h;
}
