// One message as Slack shows it: avatar, name, time, content, reactions, replies, and the
// hover toolbar (react, reply in thread, message shortcuts).
//
// page: {
//   me, person(id), channel(id), shortcuts: [{callback_id, name}],
//   react(message, name, add), openThread(message), shortcut(message, shortcut),
//   click(message, action), confirm(object), dismiss(ephemeral)
// }

import { renderBlocks } from "./blocks.js";
import { el, formatTime, hue, initials } from "./dom.js";
import { EMOJI, renderMarkdown, renderMrkdwn } from "./mrkdwn.js";

export const QUICK_REACTIONS = ["+1", "white_check_mark", "eyes", "x", "warning", "tada", "heart", "pray"];

export function renderMessage(message, page, { inThread = false } = {}) {
  const author = page.person(message.user);
  const isApp = Boolean(message.bot_id);
  const node = el("article", "msg");
  node.dataset.ts = message.ts;
  node.dataset.user = message.user || "";
  if (message.ephemeral) node.classList.add("msg-ephemeral");
  if (isApp) node.classList.add("msg-app");

  node.append(avatar(author, isApp));
  const main = el("div", "msg-main");
  const head = el("div", "msg-head");
  head.append(el("span", "msg-author", author ? author.real_name || author.name : message.user || "Unknown"));
  if (isApp) head.append(el("span", "badge-app", "APP"));
  if (author?.kind === "guest") head.append(el("span", "badge-guest", "guest"));
  if (author?.kind === "external") head.append(el("span", "badge-external", "external"));
  head.append(el("time", "msg-time", formatTime(message.ts)));
  if (message.edited) head.append(el("span", "msg-edited", "(edited)"));
  main.append(head);

  if (message.ephemeral) {
    const note = el("div", "msg-only-you");
    note.append(el("span", "eye", "👁"), document.createTextNode(" Only visible to you"));
    const dismiss = el("button", "link-button", "Dismiss");
    dismiss.type = "button";
    dismiss.addEventListener("click", () => page.dismiss(message));
    note.append(dismiss);
    main.append(note);
  }

  main.append(content(message, page));
  if (message.reactions?.length) main.append(reactions(message, page));
  if (!inThread && message.reply_count) main.append(threadSummary(message, page));
  node.append(main);
  if (!message.ephemeral) node.append(toolbar(message, page, { inThread }));
  return node;
}

function avatar(person, isApp) {
  const node = el("div", "avatar", isApp ? "T" : initials(person?.real_name || person?.name));
  node.style.background = isApp ? "#2e5e4e" : `hsl(${hue(person?.id || "?")} 45% 42%)`;
  node.setAttribute("aria-hidden", "true");
  return node;
}

function content(message, page) {
  const ctx = {
    me: page.me,
    user: page.person,
    channel: page.channel,
    confirm: page.confirm,
    act: (action) => page.click(message, action),
  };
  const body = el("div", "msg-body");
  if (message.streamed) body.append(streamedText(message, ctx));
  if (message.blocks?.length) body.append(renderBlocks(message.blocks, ctx));
  else if (!message.streamed) {
    const text = el("div", "bk-text");
    text.append(renderMrkdwn(message.text || "", ctx));
    body.append(text);
  }
  for (const file of message.files || []) body.append(fileNode(file));
  return body;
}

// A streamed answer: its text grows in place (a cursor while it streams); blocks follow.
function streamedText(message, ctx) {
  const text = el("div", message.streaming ? "bk-text msg-stream msg-streaming" : "bk-text msg-stream");
  text.append(renderMarkdown(message.text || "", ctx));
  return text;
}

function fileNode(file) {
  if ((file.mimetype || "").startsWith("image/")) {
    const image = el("img", "msg-file");
    image.src = file.url_private;
    image.alt = file.alt_txt || file.title || file.name;
    return image;
  }
  const link = el("a", "msg-file", file.title || file.name);
  link.href = file.url_private;
  link.download = file.name;
  return link;
}

function reactions(message, page) {
  const row = el("div", "reactions");
  for (const reaction of message.reactions) {
    const mine = reaction.users.includes(page.me);
    const chip = el("button", mine ? "reaction reaction-mine" : "reaction");
    chip.type = "button";
    chip.dataset.reaction = reaction.name;
    chip.title = `${reaction.users.map((id) => page.person(id)?.real_name || id).join(", ")} reacted with :${reaction.name}:`;
    chip.append(el("span", "emoji", EMOJI[reaction.name] || `:${reaction.name}:`), el("span", "reaction-count", String(reaction.count)));
    chip.addEventListener("click", () => page.react(message, reaction.name, !mine));
    row.append(chip);
  }
  return row;
}

function threadSummary(message, page) {
  const link = el("button", "thread-summary");
  link.type = "button";
  const count = message.reply_count;
  link.append(el("span", "thread-count", `${count} ${count === 1 ? "reply" : "replies"}`));
  if (message.latest_reply) link.append(el("span", "thread-last", `Last reply ${formatTime(message.latest_reply)}`));
  link.addEventListener("click", () => page.openThread(message));
  return link;
}

function toolbar(message, page, { inThread }) {
  const bar = el("div", "msg-toolbar");
  bar.append(toolButton("😀", "Add reaction", (button) => reactionPicker(button, message, page)));
  if (!inThread) {
    bar.append(toolButton("💬", "Reply in thread", () => page.openThread(message)));
  }
  if (page.shortcuts.length) {
    bar.append(toolButton("⋯", "More actions", (button) => shortcutMenu(button, message, page)));
  }
  return bar;
}

function toolButton(glyph, label, onClick) {
  const button = el("button", "tool", glyph);
  button.type = "button";
  button.title = label;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", (event) => {
    event.stopPropagation();
    onClick(button);
  });
  return button;
}

function popover(anchor, build) {
  closePopovers();
  const menu = el("div", "popover");
  build(menu);
  document.body.append(menu);
  const box = anchor.getBoundingClientRect();
  const left = Math.min(box.right - menu.offsetWidth, window.innerWidth - menu.offsetWidth - 8);
  menu.style.left = `${Math.max(8, left)}px`;
  const below = box.bottom + 4;
  menu.style.top = `${below + menu.offsetHeight > window.innerHeight ? box.top - menu.offsetHeight - 4 : below}px`;
  setTimeout(() => document.addEventListener("click", closePopovers, { once: true }), 0);
  return menu;
}

export function closePopovers() {
  for (const menu of document.querySelectorAll(".popover")) menu.remove();
}

function reactionPicker(anchor, message, page) {
  popover(anchor, (menu) => {
    menu.classList.add("emoji-picker");
    menu.setAttribute("aria-label", "Pick a reaction");
    for (const name of QUICK_REACTIONS) {
      const choice = el("button", "emoji-choice", EMOJI[name]);
      choice.type = "button";
      choice.title = `:${name}:`;
      choice.dataset.reaction = name;
      choice.addEventListener("click", () => {
        closePopovers();
        const already = message.reactions?.some((r) => r.name === name && r.users.includes(page.me));
        page.react(message, name, !already);
      });
      menu.append(choice);
    }
  });
}

function shortcutMenu(anchor, message, page) {
  popover(anchor, (menu) => {
    menu.classList.add("menu");
    menu.append(el("div", "menu-title", "Message shortcuts"));
    for (const shortcut of page.shortcuts) {
      const item = el("button", "menu-item", shortcut.name);
      item.type = "button";
      item.dataset.callbackId = shortcut.callback_id;
      item.addEventListener("click", () => {
        closePopovers();
        page.shortcut(message, shortcut);
      });
      menu.append(item);
    }
  });
}
