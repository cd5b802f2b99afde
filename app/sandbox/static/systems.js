// The Systems view: what the downstream stand-ins received (the CRM's rows, the webhook's
// deliveries with their signature check, the mail server's messages with their headers, the
// ticket system's comments), newest first, each linked to the approval that caused it.
//
// system: {slug, name, address, about, records: [{id, title, fields: [[name, value]], body,
//          verified, at, draft, approval: {channel, channel_name, ts, by, title} | null}]}
// page:   { channel(id) -> conversation | undefined, showApproval(approval) }

import { el, formatTime } from "./dom.js";

export const SYSTEM_ICONS = { sql: "🗄️", webhook: "🪝", email: "✉️", ticketing: "🎫" };

export function renderSystemHeader(system) {
  const title = el("div", "header-title");
  title.append(el("span", "header-icon", SYSTEM_ICONS[system.slug] || "⚙️"), el("span", "header-name", system.name));
  const details = el("div", "header-details");
  details.append(el("span", "header-tag", "stand-in"), el("span", null, system.address));
  return [title, details];
}

export function renderSystem(system, page) {
  const view = el("div", "sys-view");
  view.dataset.system = system.slug;
  view.append(el("p", "sys-about", system.about));
  if (!system.records.length) {
    view.append(el("div", "empty", "Nothing received yet. Approve a request whose workflow delivers here."));
    return view;
  }
  for (const record of [...system.records].reverse()) view.append(renderRecord(system, record, page));
  return view;
}

function renderRecord(system, record, page) {
  const card = el("article", "sys-record");
  card.dataset.system = system.slug;
  card.dataset.id = record.id;
  if (record.draft) card.dataset.draft = record.draft;
  const head = el("header", "sys-head");
  head.append(el("span", "sys-title", record.title));
  if (record.at) head.append(el("time", "msg-time", formatTime(String(record.at))));
  if (record.verified !== null && record.verified !== undefined) {
    card.dataset.verified = record.verified ? "yes" : "no";
    head.append(el("span", `sys-badge ${record.verified ? "sys-ok" : "sys-bad"}`,
      record.verified ? "✔ signature verified" : "✘ signature refused"));
  }
  card.append(head);
  const table = el("table", "sys-fields");
  for (const [name, value] of record.fields) {
    const row = el("tr");
    row.append(el("th", null, name), el("td", null, value));
    table.append(row);
  }
  card.append(table);
  if (record.body) card.append(el("pre", "mk-pre sys-body", record.body));
  card.append(cause(record, page));
  return card;
}

function cause(record, page) {
  const line = el("div", "sys-cause");
  const approval = record.approval;
  if (!approval) {
    line.append(document.createTextNode(record.draft
      ? `Caused by request ${record.draft.slice(0, 8)}…, approved without a card.`
      : "Not linked to an approval."));
    return line;
  }
  const what = approval.title ? `“${approval.title}”` : "the request";
  const verb = approval.approved ? "approved" : "decided";
  line.append(document.createTextNode(`Caused by ${what}, ${verb} by ${approval.by || "someone"} `));
  const link = el("button", "link-button sys-approval", `on its card in #${approval.channel_name}`);
  link.type = "button";
  link.dataset.channel = approval.channel;
  link.dataset.ts = approval.ts;
  link.addEventListener("click", () => page.showApproval(approval));
  line.append(link);
  return line;
}
