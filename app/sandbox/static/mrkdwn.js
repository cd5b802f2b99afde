// Slack's text formatting, rendered with DOM nodes.
//
//   renderMrkdwn(text, ctx)   mrkdwn: *bold* _italic_ ~strike~ `code` ```blocks``` > quotes,
//                             <url|text> links, <@U…> <#C…> <!here> references, &amp; &lt; &gt;
//   renderMarkdown(text, ctx) the `markdown` block's standard Markdown (a common subset)
//   renderEmoji(text)         :name: shortcodes as emoji, for plain_text
//   loadEmoji()               fetch the shortcode table once, before rendering
//
// ctx: { user(id) -> person | undefined, channel(id) -> conversation | undefined, me: id }

import { el, externalLink, safeUrl } from "./dom.js";

// Shortcode -> emoji, from the `emoji` package on the server (GET /ui/emoji), loaded once
// before the page first renders.
export const EMOJI = Object.create(null);

export async function loadEmoji() {
  try {
    const response = await fetch("/ui/emoji");
    if (response.ok) Object.assign(EMOJI, await response.json());
  } catch {
    // Without the table, shortcodes stay as text.
  }
}

const EMOJI_CODE = /:([a-z0-9_+'-]+):/g;
const MARKERS = { "*": "strong", "_": "em", "~": "del" };
const OPENS_AFTER = /[\s([{"'“‘\-/]/;
const CLOSES_BEFORE = /[\s)\]}"'”’.,;:!?\-…/]/;

export function decodeEntities(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

export function renderEmoji(text) {
  const out = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(EMOJI_CODE)) {
    const glyph = EMOJI[match[1]];
    if (!glyph) continue;
    if (match.index > last) out.append(document.createTextNode(text.slice(last, match.index)));
    const span = el("span", "emoji", glyph);
    span.title = `:${match[1]}:`;
    out.append(span);
    last = match.index + match[0].length;
  }
  if (last < text.length) out.append(document.createTextNode(text.slice(last)));
  return out;
}

export function renderMrkdwn(text, ctx) {
  const out = document.createDocumentFragment();
  const parts = String(text ?? "").split(/```/);
  parts.forEach((part, index) => {
    const isCode = index % 2 === 1 && index < parts.length - 1;
    if (isCode) {
      out.append(el("pre", "mk-pre", decodeEntities(part.replace(/^\n/, "").replace(/\n$/, ""))));
    } else {
      const unclosed = index % 2 === 1 ? "```" : "";
      out.append(renderLines(unclosed + part, ctx));
    }
  });
  return out;
}

// Lines starting with ">" (or "&gt;", as typed in Slack's composer) form a quote.
function renderLines(text, ctx) {
  const out = document.createDocumentFragment();
  const lines = text.split("\n");
  let plain = [];
  let quote = [];
  const flushPlain = () => {
    if (plain.length) out.append(inline(plain.join("\n"), ctx));
    plain = [];
  };
  const flushQuote = () => {
    if (!quote.length) return;
    const block = el("blockquote", "mk-quote");
    block.append(inline(quote.join("\n"), ctx));
    out.append(block);
    quote = [];
  };
  for (const line of lines) {
    const quoted = /^(>|&gt;)\s?/.exec(line);
    if (quoted) {
      flushPlain();
      quote.push(line.slice(quoted[0].length));
    } else {
      flushQuote();
      plain.push(line);
    }
  }
  flushPlain();
  flushQuote();
  return out;
}

function inline(text, ctx) {
  const out = document.createDocumentFragment();
  let buffer = "";
  const flush = () => {
    if (buffer) out.append(renderEmoji(decodeEntities(buffer)));
    buffer = "";
  };
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === "`") {
      const end = text.indexOf("`", i + 1);
      if (end > i + 1) {
        flush();
        out.append(el("code", "mk-code", decodeEntities(text.slice(i + 1, end))));
        i = end + 1;
        continue;
      }
    } else if (c === "<") {
      const end = text.indexOf(">", i + 1);
      if (end > i + 1) {
        flush();
        out.append(reference(text.slice(i + 1, end), ctx));
        i = end + 1;
        continue;
      }
    } else if (MARKERS[c] && opensAt(text, i)) {
      const end = closingMarker(text, i);
      if (end > 0) {
        flush();
        const node = el(MARKERS[c], "mk-" + MARKERS[c]);
        node.append(inline(text.slice(i + 1, end), ctx));
        out.append(node);
        i = end + 1;
        continue;
      }
    }
    buffer += c;
    i += 1;
  }
  flush();
  return out;
}

function opensAt(text, i) {
  const before = i === 0 ? " " : text[i - 1];
  const after = text[i + 1];
  return OPENS_AFTER.test(before) && after !== undefined && !/\s/.test(after) && after !== text[i];
}

function closingMarker(text, start) {
  const marker = text[start];
  for (let j = start + 2; j < text.length; j++) {
    const c = text[j];
    if (c === "\n") return -1;
    if (c === "<" || c === "`") {
      const end = text.indexOf(c === "<" ? ">" : "`", j + 1);
      if (end > j) {
        j = end;
        continue;
      }
    }
    if (c === marker && !/\s/.test(text[j - 1])) {
      const after = j + 1 < text.length ? text[j + 1] : " ";
      if (CLOSES_BEFORE.test(after)) return j;
    }
  }
  return -1;
}

// <@U…>, <#C…|name>, <!here>, <!subteam^S…|@team>, <!date^…|fallback>, <url|label>
function reference(inner, ctx) {
  const bar = inner.indexOf("|");
  const target = bar >= 0 ? inner.slice(0, bar) : inner;
  const label = bar >= 0 ? decodeEntities(inner.slice(bar + 1)) : null;
  if (target.startsWith("@")) return userMention(target.slice(1), label, ctx);
  if (target.startsWith("#")) return channelMention(target.slice(1), label, ctx);
  if (target.startsWith("!")) return special(target.slice(1), label);
  const text = label ?? decodeEntities(target);
  const href = safeUrl(decodeEntities(target));
  if (href) return externalLink(href, text, "mk-link");
  return el("span", "mk-unlinked", text);
}

export function userMention(id, label, ctx) {
  const person = ctx?.user?.(id);
  const name = person ? person.real_name || person.name : label || id;
  const chip = el("span", "mention", "@" + name.replace(/^@/, ""));
  if (ctx?.me === id) chip.classList.add("mention-me");
  chip.title = person?.email || id;
  return chip;
}

export function channelMention(id, label, ctx) {
  const conversation = ctx?.channel?.(id);
  const name = conversation?.name || label || id;
  return el("span", "mention mention-channel", "#" + name);
}

function special(command, label) {
  const [name] = command.split("^");
  if (["here", "channel", "everyone"].includes(name)) {
    return el("span", "mention mention-broadcast", "@" + name);
  }
  if (name === "subteam") return el("span", "mention", label || "@team");
  return el("span", "mk-date", label ?? command);
}

// -- the markdown block ---------------------------------------------------------------------

export function renderMarkdown(text, ctx) {
  const out = el("div", "md");
  const lines = String(text ?? "").split("\n");
  let list = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (/^```/.test(line)) {
      const body = [];
      for (i += 1; i < lines.length && !/^```/.test(lines[i]); i++) body.push(lines[i]);
      out.append(el("pre", "mk-pre", body.join("\n")));
      list = null;
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*+]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    const quote = /^>\s?(.*)$/.exec(line);
    if (bullet || numbered) {
      const tag = bullet ? "ul" : "ol";
      if (!list || list.tagName.toLowerCase() !== tag) {
        list = el(tag, "md-list");
        out.append(list);
      }
      const item = el("li");
      item.append(markdownInline((bullet || numbered)[1], ctx));
      list.append(item);
      continue;
    }
    list = null;
    if (heading) {
      const node = el("div", `md-h md-h${heading[1].length}`);
      node.append(markdownInline(heading[2], ctx));
      out.append(node);
    } else if (quote) {
      const node = el("blockquote", "mk-quote");
      node.append(markdownInline(quote[1], ctx));
      out.append(node);
    } else if (line.trim()) {
      const node = el("p", "md-p");
      node.append(markdownInline(line, ctx));
      out.append(node);
    }
  }
  return out;
}

const MD_INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*)|(~~[^~]+~~)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))/;

function markdownInline(text, ctx) {
  const out = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    const match = MD_INLINE.exec(rest);
    if (!match) {
      out.append(renderEmoji(rest));
      break;
    }
    if (match.index > 0) out.append(renderEmoji(rest.slice(0, match.index)));
    const [token] = match;
    if (match[1]) out.append(el("code", "mk-code", token.slice(1, -1)));
    else if (match[2]) out.append(wrap("strong", markdownInline(token.slice(2, -2), ctx)));
    else if (match[3]) out.append(wrap("del", markdownInline(token.slice(2, -2), ctx)));
    else if (match[4]) out.append(wrap("em", markdownInline(token.slice(1, -1), ctx)));
    else {
      const [, label, url] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token);
      const href = safeUrl(url);
      out.append(href ? externalLink(href, label, "mk-link") : el("span", "mk-unlinked", label));
    }
    rest = rest.slice(match.index + token.length);
  }
  return out;
}

function wrap(tag, content) {
  const node = el(tag);
  node.append(content);
  return node;
}
