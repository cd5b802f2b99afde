// Block Kit, rendered with DOM nodes: what the app posts, publishes and opens.
//
//   renderBlocks(blocks, ctx) -> element
//
// ctx: the mrkdwn context (user, channel, me) plus
//   act({block_id, action_id, value})  a click or a choice: the page sends block_actions
//   confirm(confirmObject) -> Promise<boolean>  the confirm dialog of a button
//   inputs: [] | undefined   in a modal, input blocks register {block_id, action_id, read()}
//   errors: {block_id: message}   validation errors to show under inputs
//
// A block or element this renderer does not know is shown as a labelled placeholder.

import { el, externalLink, safeUrl } from "./dom.js";
import {
  EMOJI, channelMention, renderEmoji, renderMarkdown, renderMrkdwn, userMention,
} from "./mrkdwn.js";

export function renderBlocks(blocks, ctx) {
  const root = el("div", "blocks");
  for (const block of blocks || []) root.append(renderBlock(block, ctx));
  return root;
}

const BLOCKS = {
  header, section, context, divider, actions, rich_text: richText, markdown, image, input,
  context_actions: actions,
};

function renderBlock(block, ctx) {
  const render = BLOCKS[block?.type];
  if (!render) return placeholder("block", block?.type);
  try {
    const node = render(block, ctx);
    node.dataset.blockId = block.block_id || "";
    node.classList.add("block");
    return node;
  } catch (error) {
    console.error("block", block, error);
    return placeholder("block", `${block.type} (malformed)`);
  }
}

export function placeholder(what, type) {
  const node = el("div", "bk-unsupported");
  node.append(el("span", "bk-unsupported-label", `Unsupported ${what}`));
  node.append(el("code", null, String(type ?? "unknown")));
  node.title = "The sandbox's browser view does not render this yet; Slack would.";
  return node;
}

export function textObject(object, ctx) {
  if (!object) return document.createDocumentFragment();
  if (typeof object === "string") return document.createTextNode(object);
  if (object.type === "mrkdwn") return renderMrkdwn(object.text, ctx);
  return object.emoji === false ? document.createTextNode(object.text ?? "") : renderEmoji(object.text ?? "");
}

function plainText(object) {
  return typeof object === "string" ? object : object?.text ?? "";
}

// -- layout blocks --------------------------------------------------------------------------

function header(block) {
  const node = el("div", "bk-header");
  node.append(renderEmoji(plainText(block.text)));
  return node;
}

function section(block, ctx) {
  const node = el("div", "bk-section");
  const body = el("div", "bk-section-body");
  if (block.text) {
    const text = el("div", "bk-text");
    text.append(textObject(block.text, ctx));
    body.append(text);
  }
  if (block.fields?.length) {
    const fields = el("div", "bk-fields");
    for (const field of block.fields) {
      const cell = el("div", "bk-field");
      cell.append(textObject(field, ctx));
      fields.append(cell);
    }
    body.append(fields);
  }
  node.append(body);
  if (block.accessory) {
    const accessory = el("div", "bk-accessory");
    accessory.append(element(block.accessory, block, ctx));
    node.append(accessory);
  }
  return node;
}

function context(block, ctx) {
  const node = el("div", "bk-context");
  for (const item of block.elements || []) {
    const part = el("span", "bk-context-item");
    if (item.type === "image") part.append(imageLink(item.image_url, item.alt_text));
    else part.append(textObject(item, ctx));
    node.append(part);
  }
  return node;
}

function divider() {
  return el("hr", "bk-divider");
}

function actions(block, ctx) {
  const node = el("div", "bk-actions");
  for (const item of block.elements || []) node.append(element(item, block, ctx));
  return node;
}

function image(block) {
  const node = el("div", "bk-image");
  if (block.title) node.append(el("div", "bk-image-title", plainText(block.title)));
  node.append(imageLink(block.image_url, block.alt_text));
  return node;
}

function imageLink(url, alt) {
  const label = `🖼 ${alt || "image"}`;
  const href = safeUrl(url);
  return href ? externalLink(href, label, "bk-image-link") : el("span", "bk-image-link", label);
}

function markdown(block, ctx) {
  const node = el("div", "bk-markdown");
  node.append(renderMarkdown(block.text, ctx));
  return node;
}

// -- rich_text ------------------------------------------------------------------------------

function richText(block, ctx) {
  const node = el("div", "bk-rich-text");
  for (const part of block.elements || []) node.append(richPart(part, ctx));
  return node;
}

function richPart(part, ctx) {
  switch (part.type) {
    case "rich_text_section": {
      const node = el("div", "rt-section");
      for (const item of part.elements || []) node.append(richInline(item, ctx));
      return node;
    }
    case "rich_text_list": {
      const node = el(part.style === "ordered" ? "ol" : "ul", "rt-list");
      node.style.marginLeft = `${(part.indent || 0) * 1.2}em`;
      for (const item of part.elements || []) {
        const li = el("li");
        li.append(richPart(item, ctx));
        node.append(li);
      }
      return node;
    }
    case "rich_text_preformatted": {
      const node = el("pre", "mk-pre");
      for (const item of part.elements || []) node.append(document.createTextNode(item.text ?? ""));
      return node;
    }
    case "rich_text_quote": {
      const node = el("blockquote", "mk-quote");
      for (const item of part.elements || []) node.append(richInline(item, ctx));
      return node;
    }
    default:
      return placeholder("rich text part", part.type);
  }
}

function richInline(item, ctx) {
  let node;
  switch (item.type) {
    case "text":
      node = el("span", null, item.text ?? "");
      break;
    case "link": {
      const href = safeUrl(item.url);
      const label = item.text || item.url || "";
      node = href ? externalLink(href, label, "mk-link") : el("span", "mk-unlinked", label);
      break;
    }
    case "user":
      node = userMention(item.user_id, null, ctx);
      break;
    case "channel":
      node = channelMention(item.channel_id, null, ctx);
      break;
    case "usergroup":
      node = el("span", "mention", "@" + (item.usergroup_id || "team"));
      break;
    case "broadcast":
      node = el("span", "mention mention-broadcast", "@" + (item.range || "here"));
      break;
    case "emoji":
      return el("span", "emoji", EMOJI[item.name] || unicodeEmoji(item.unicode) || `:${item.name}:`);
    case "date":
      node = el("span", "mk-date", item.fallback || item.format || "");
      break;
    default:
      return placeholder("rich text element", item.type);
  }
  const style = item.style || {};
  if (style.code) node = wrapIn("code", "mk-code", node);
  if (style.bold) node = wrapIn("strong", null, node);
  if (style.italic) node = wrapIn("em", null, node);
  if (style.strike) node = wrapIn("del", null, node);
  return node;
}

function unicodeEmoji(codes) {
  if (!codes) return null;
  try {
    return String.fromCodePoint(...codes.split("-").map((hex) => Number.parseInt(hex, 16)));
  } catch {
    return null;
  }
}

function wrapIn(tag, className, child) {
  const node = el(tag, className);
  node.append(child);
  return node;
}

// -- interactive elements -------------------------------------------------------------------

function element(item, block, ctx) {
  switch (item?.type) {
    case "button":
      return button(item, block, ctx);
    case "static_select":
    case "overflow":
      return select(item, block, ctx);
    case "feedback_buttons":
      return feedbackButtons(item, block, ctx);
    case "icon_button":
      return button({ ...item, text: item.text || { type: "plain_text", text: item.icon } }, block, ctx);
    case "image":
      return imageLink(item.image_url, item.alt_text);
    default:
      return placeholder("element", item?.type);
  }
}

function button(item, block, ctx, value = item.value, className = "") {
  const node = el("button", `bk-button ${className}`.trim());
  node.type = "button";
  if (item.style === "primary" || item.style === "danger") node.classList.add(`bk-${item.style}`);
  node.append(textObject(item.text, ctx));
  node.dataset.actionId = item.action_id || "";
  if (item.accessibility_label) node.setAttribute("aria-label", item.accessibility_label);
  const href = safeUrl(item.url);
  node.addEventListener("click", async () => {
    if (item.confirm && !(await ctx.confirm(item.confirm))) return;
    if (href) window.open(href, "_blank", "noopener");
    node.disabled = true;
    try {
      await ctx.act({ block_id: block.block_id, action_id: item.action_id, value });
    } finally {
      node.disabled = false;
    }
  });
  return node;
}

function feedbackButtons(item, block, ctx) {
  const node = el("span", "bk-feedback");
  for (const which of ["positive_button", "negative_button"]) {
    const choice = item[which];
    if (!choice) continue;
    node.append(button({ ...item, ...choice, style: undefined }, block, ctx, choice.value, "bk-feedback-button"));
  }
  return node;
}

function select(item, block, ctx, { asInput = false } = {}) {
  const node = el("select", "bk-select");
  node.dataset.actionId = item.action_id || "";
  const prompt = el("option", null, plainText(item.placeholder) || (item.type === "overflow" ? "⋯" : "Select an item"));
  prompt.value = "";
  node.append(prompt);
  appendOptions(node, item);
  const initial = item.initial_option?.value;
  if (initial !== undefined) node.value = initial;
  if (asInput) return node;
  node.addEventListener("change", async () => {
    if (!node.value) return;
    if (item.confirm && !(await ctx.confirm(item.confirm))) return;
    await ctx.act({ block_id: block.block_id, action_id: item.action_id, value: node.value });
  });
  return node;
}

function appendOptions(node, item) {
  const add = (parent, option) => {
    const entry = el("option", null, plainText(option.text));
    entry.value = option.value;
    parent.append(entry);
  };
  for (const option of item.options || []) add(node, option);
  for (const group of item.option_groups || []) {
    const optgroup = el("optgroup");
    optgroup.label = plainText(group.label);
    for (const option of group.options || []) add(optgroup, option);
    node.append(optgroup);
  }
}

// -- input blocks (modals) ------------------------------------------------------------------

function input(block, ctx) {
  const node = el("div", "bk-input");
  const id = `input-${block.block_id}`;
  const label = el("label", "bk-input-label");
  label.htmlFor = id;
  label.append(renderEmoji(plainText(block.label)));
  if (block.optional) label.append(el("span", "bk-optional", " (optional)"));
  node.append(label);
  const field = inputElement(block.element || {}, id, ctx);
  node.append(field.node);
  if (block.hint) node.append(el("div", "bk-hint", plainText(block.hint)));
  const error = ctx.errors?.[block.block_id];
  if (error) {
    node.classList.add("bk-input-invalid");
    node.append(el("div", "bk-error", error));
  }
  if (field.read && ctx.inputs) {
    ctx.inputs.push({
      block_id: block.block_id, action_id: block.element.action_id, read: field.read,
      check: field.check, optional: Boolean(block.optional),
    });
  }
  return node;
}

function inputElement(item, id, ctx) {
  switch (item.type) {
    case "plain_text_input": {
      const node = el(item.multiline ? "textarea" : "input", "bk-text-input");
      if (!item.multiline) node.type = "text";
      node.id = id;
      node.value = item.initial_value ?? "";
      if (item.placeholder) node.placeholder = plainText(item.placeholder);
      if (item.max_length) node.maxLength = item.max_length;
      const check = () => (item.min_length && node.value && node.value.length < item.min_length
        ? `Please enter at least ${item.min_length} characters.` : null);
      return { node, read: () => node.value, check };
    }
    case "number_input": {
      const node = el("input", "bk-text-input");
      node.type = "text";
      node.inputMode = item.is_decimal_allowed ? "decimal" : "numeric";
      node.id = id;
      node.value = item.initial_value ?? "";
      if (item.placeholder) node.placeholder = plainText(item.placeholder);
      return { node, read: () => node.value.trim(), check: () => numberProblem(node.value.trim(), item) };
    }
    case "static_select": {
      const node = select(item, {}, ctx, { asInput: true });
      node.id = id;
      return { node, read: () => node.value || null };
    }
    case "datepicker": {
      const node = el("input", "bk-text-input");
      node.type = "date";
      node.id = id;
      node.value = item.initial_date ?? "";
      return { node, read: () => node.value || null };
    }
    case "radio_buttons":
    case "checkboxes": {
      const node = el("div", "bk-choices");
      node.id = id;
      const kind = item.type === "radio_buttons" ? "radio" : "checkbox";
      const initial = new Set([item.initial_option, ...(item.initial_options || [])].filter(Boolean).map((o) => o.value));
      const boxes = (item.options || []).map((option) => {
        const row = el("label", "bk-choice");
        const box = el("input");
        box.type = kind;
        box.name = id;
        box.value = option.value;
        box.checked = initial.has(option.value);
        row.append(box, textObject(option.text, ctx));
        node.append(row);
        return box;
      });
      const chosen = () => boxes.filter((b) => b.checked).map((b) => b.value);
      return { node, read: () => (kind === "radio" ? chosen()[0] ?? null : chosen()) };
    }
    default:
      return { node: placeholder("input", item.type) };
  }
}

function numberProblem(value, item) {
  if (!value) return null;
  const pattern = item.is_decimal_allowed ? /^-?\d+(\.\d+)?$/ : /^-?\d+$/;
  if (!pattern.test(value)) return item.is_decimal_allowed ? "Please enter a number." : "Please enter a whole number.";
  const number = Number(value);
  if (item.min_value !== undefined && number < Number(item.min_value)) return `Please enter a number of at least ${item.min_value}.`;
  if (item.max_value !== undefined && number > Number(item.max_value)) return `Please enter a number of at most ${item.max_value}.`;
  return null;
}
