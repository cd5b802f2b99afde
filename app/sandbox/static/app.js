// The sandbox's Slack-like page: who you are acting as, your channels and your DM with the
// app, messages and threads, the composer, the App Home, modals, live updates, the first-run
// hints and, when downstream systems stand in, what each received.
//
// Everything shown comes from GET /ui/state (what this person sees); every change the
// person can see arrives as a Server-Sent Event, after which the page fetches the state
// again. Everything the person does is a POST to /ui/actions/NAME.

import { assistantThread, decorateAssistant, decorateThreadStatus } from "./assistant.js";
import { renderBlocks, textObject } from "./blocks.js";
import { el, hue, initials } from "./dom.js";
import { hintsHidden, renderHints, setHintsHidden } from "./hints.js";
import { closePopovers, renderMessage } from "./messages.js";
import { loadEmoji } from "./mrkdwn.js";
import { ModalLayer, confirmDialog } from "./modal.js";
import { SYSTEM_ICONS, renderSystem, renderSystemHeader } from "./systems.js";

const $ = (id) => document.getElementById(id);
const KIND_LABELS = { guest: "guest", external: "external", member: "" };
const CHANNEL_ICONS = { public: "#", private: "🔒", shared: "⇄" };

const page = {
  me: null,
  state: null,
  selection: null, // {kind: "channel", id} | {kind: "app", tab: "home" | "messages"} | {kind: "system", slug}
  flash: null, // the ts of a message to point out once shown
  thread: null, // {channel, ts}
  dismissed: new Set(),
  seen: {},
  events: null,
  refreshing: null,
  again: false,
};

// -- talking to the sandbox -----------------------------------------------------------------

async function api(name, body = {}) {
  let answer;
  try {
    const response = await fetch(`/ui/actions/${name}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ as: page.me, ...body }),
    });
    answer = await response.json().catch(() => ({ ok: false, message: `HTTP ${response.status}` }));
  } catch (error) {
    answer = { ok: false, message: `The sandbox is not reachable (${error.message}). Is Trellis still running?` };
  }
  if (!answer.ok) toast(answer.message || answer.error || "That did not work.");
  return answer;
}

async function refresh() {
  if (page.refreshing) {
    page.again = true;
    return page.refreshing;
  }
  page.refreshing = (async () => {
    do {
      page.again = false;
      const asked = page.me || "";
      const response = await fetch(`/ui/state?as=${encodeURIComponent(asked)}`);
      if (!response.ok) {
        toast(await response.text());
        if (page.me) {
          page.me = null;
          page.again = true;
          continue;
        }
        return;
      }
      const state = await response.json();
      if ((page.me || "") !== asked) {
        page.again = true; // another person was picked meanwhile: show theirs, not this
        continue;
      }
      page.state = state;
      page.me = state.me.id;
      render();
    } while (page.again);
  })();
  try {
    await page.refreshing;
  } finally {
    page.refreshing = null;
  }
}

let pending = null;
function scheduleRefresh() {
  clearTimeout(pending);
  pending = setTimeout(refresh, 25);
}

function connect() {
  page.events?.close();
  document.body.dataset.live = "no";
  const events = new EventSource(`/ui/events?as=${encodeURIComponent(page.me)}`);
  events.addEventListener("ready", () => {
    document.body.dataset.live = "yes";
    $("live").textContent = "live";
    scheduleRefresh();
  });
  events.addEventListener("change", scheduleRefresh);
  events.onerror = () => {
    document.body.dataset.live = "no";
    $("live").textContent = "reconnecting…";
  };
  page.events = events;
}

// -- lookups --------------------------------------------------------------------------------

const person = (id) => page.state?.people.find((p) => p.id === id);
const channel = (id) => page.state?.conversations.find((c) => c.id === id);
const appDm = () => page.state?.conversations.find((c) => c.kind === "im");
const system = (slug) => page.state?.systems?.find((s) => s.slug === slug);

function currentChannelId() {
  if (!page.selection) return null;
  if (page.selection.kind === "channel") return page.selection.id;
  return appDm()?.id || page.state.bot.user_id; // posting to the bot's id opens the DM
}

function messagesIn(channelId) {
  return page.state.messages[channelId] || [];
}

function ephemeralsIn(channelId, threadTs = null) {
  return page.state.ephemerals.filter(
    (e) => e.channel === channelId && (e.thread_ts || null) === threadTs && !page.dismissed.has(e.ts),
  );
}

const byTs = (a, b) => Number.parseFloat(a.ts) - Number.parseFloat(b.ts);

const messagePage = {
  get me() { return page.me; },
  person,
  channel,
  get shortcuts() { return page.state?.shortcuts || []; },
  react: (message, name, add) => api(add ? "react" : "unreact", { channel: message.channel, ts: message.ts, name }),
  openThread: (message) => openThread(message.channel, message.thread_ts || message.ts),
  shortcut: (message, shortcut) => api("shortcut", { channel: message.channel, ts: message.ts, callback_id: shortcut.callback_id }),
  click: (message, action) => api("click", { channel: message.channel, ts: message.ts, ...action }),
  confirm: (object) => confirmDialog(object, (text) => textObject(text, textContext())),
  dismiss: (message) => {
    page.dismissed.add(message.ts);
    render();
  },
};

function textContext() {
  return { me: page.me, user: person, channel };
}

const systemPage = {
  channel,
  showApproval(approval) {
    if (!channel(approval.channel)) {
      toast(`Only members of #${approval.channel_name} see that card: act as one of them to open it.`);
      return;
    }
    page.flash = approval.ts;
    select({ kind: "channel", id: approval.channel });
    document.querySelector(`#messages .msg[data-ts="${CSS.escape(approval.ts)}"]`)?.scrollIntoView({ block: "center" });
    setTimeout(() => {
      page.flash = null;
      document.querySelector(".msg-flash")?.classList.remove("msg-flash");
    }, 2500);
  },
};

const hintPage = {
  get me() { return page.me; },
  changed: () => render(),
  tryHint(hint) {
    const target = hint.target;
    if (target.kind === "channel") {
      if (!channel(target.id)) {
        toast(`You are not in #${target.name}: act as someone who is.`);
        return;
      }
      select({ kind: "channel", id: target.id });
    } else if (target.kind === "systems") {
      const first = page.state.systems?.[0];
      if (!first) {
        toast("No downstream systems stand in on this sandbox.");
        return;
      }
      select({ kind: "system", slug: first.slug });
    } else {
      select({ kind: "app", tab: target.kind === "home" ? "home" : "messages" });
    }
    if (hint.say) {
      const box = $("composer-text");
      box.value = hint.say;
      box.focus();
    }
  },
};

const modal = new ModalLayer($("modal-root"), {
  get me() { return page.me; },
  person,
  channel,
  confirm: messagePage.confirm,
  api,
  refresh,
});

// -- rendering ------------------------------------------------------------------------------

function render() {
  const state = page.state;
  document.body.dataset.me = page.me;
  document.title = `${state.team.name} · Trellis sandbox`;
  $("team-name").textContent = state.team.name;
  const gone = (page.selection?.kind === "channel" && !channel(page.selection.id))
    || (page.selection?.kind === "system" && !system(page.selection.slug));
  if (!page.selection || gone) {
    const first = state.conversations.find((c) => c.kind !== "im");
    page.selection = first ? { kind: "channel", id: first.id } : { kind: "app", tab: "home" };
  }
  if (page.thread && !channel(page.thread.channel) && page.thread.channel !== state.bot.user_id) page.thread = null;
  renderPeople();
  renderHints($("hints"), page.selection.kind === "system" ? [] : state.hints || [], hintPage);
  renderSidebar();
  renderHeader();
  renderMain();
  renderThread();
  modal.show(state.modal);
  const url = new URL(location.href);
  url.searchParams.set("as", page.me);
  history.replaceState(null, "", url);
}

function renderPeople() {
  const select = $("as-user");
  const groups = { member: "People in the workspace", guest: "Guests", external: "From other organisations" };
  const options = [];
  for (const [kind, label] of Object.entries(groups)) {
    const people = page.state.people.filter((p) => p.kind === kind && !p.deleted);
    if (!people.length) continue;
    const group = el("optgroup");
    group.label = label;
    for (const p of people) {
      const option = el("option", null, p.title ? `${p.real_name} — ${p.title}` : p.real_name);
      option.value = p.id;
      group.append(option);
    }
    options.push(group);
  }
  select.replaceChildren(...options);
  select.value = page.me;
  const me = page.state.me;
  const card = $("me-card");
  const face = el("div", "avatar avatar-small", initials(me.real_name));
  face.style.background = `hsl(${hue(me.id)} 45% 42%)`;
  const who = el("div", "me-who");
  who.append(el("div", "me-name", me.real_name));
  who.append(el("div", "me-title", [me.title, KIND_LABELS[me.kind]].filter(Boolean).join(" · ") || me.email || ""));
  card.replaceChildren(face, who);
}

function navItem(label, icon, selected, unread, onClick, extra) {
  const item = el("button", "nav-item");
  item.type = "button";
  if (selected) item.classList.add("nav-selected");
  if (unread) item.classList.add("nav-unread");
  item.append(el("span", "nav-icon", icon), el("span", "nav-label", label));
  if (extra) item.append(extra);
  item.addEventListener("click", onClick);
  return item;
}

function renderSidebar() {
  const nav = $("nav");
  const channels = el("div", "nav-section");
  channels.append(el("div", "nav-heading", "Channels"));
  for (const c of page.state.conversations.filter((c) => c.kind !== "im")) {
    const selected = page.selection.kind === "channel" && page.selection.id === c.id;
    const unread = markSeen(c.id, selected);
    const item = navItem(c.name, CHANNEL_ICONS[c.kind], selected, unread, () => select({ kind: "channel", id: c.id }));
    item.dataset.channel = c.name;
    channels.append(item);
  }
  const sections = [channels];
  if (page.state.systems?.length) {
    const systems = el("div", "nav-section");
    systems.append(el("div", "nav-heading", "Systems"));
    for (const s of page.state.systems) {
      const selected = page.selection.kind === "system" && page.selection.slug === s.slug;
      const unread = markCount(`system:${s.slug}`, s.records.length, selected);
      const item = navItem(s.name, SYSTEM_ICONS[s.slug] || "⚙️", selected, unread, () => select({ kind: "system", slug: s.slug }));
      item.dataset.system = s.slug;
      systems.append(item);
    }
    sections.push(systems);
  }
  const apps = el("div", "nav-section");
  apps.append(el("div", "nav-heading", "Direct messages"));
  const dm = appDm();
  const dmSelected = page.selection.kind === "app";
  const dmUnread = dm ? markSeen(dm.id, dmSelected) : false;
  const app = navItem(page.state.bot.real_name, "T", dmSelected, dmUnread, () => select({ kind: "app", tab: "home" }), el("span", "badge-app", "APP"));
  app.dataset.channel = "app";
  apps.append(app);
  sections.push(apps);
  if (page.state.hints?.length && hintsHidden(page.me)) {
    const tips = navItem("Things to try", "💡", false, false, () => {
      setHintsHidden(page.me, false);
      render();
    });
    tips.dataset.hints = "show";
    sections.push(tips);
  }
  nav.replaceChildren(...sections);
}

// True when the conversation has messages this person has not looked at yet.
function markSeen(channelId, looking) {
  return markCount(channelId, messagesIn(channelId).length, looking);
}

function markCount(key, count, looking) {
  if (looking || page.seen[key] === undefined) page.seen[key] = count;
  return count > page.seen[key];
}

function select(selection) {
  page.selection = selection;
  if (page.thread?.assistant && selection.kind === "channel") {
    api("assistant_context", { thread_ts: page.thread.ts, channel: selection.id });
  } else {
    page.thread = null;
  }
  closePopovers();
  if (selection.kind === "app" && selection.tab === "home") api("home");
  render();
  scrollToBottom(true);
}

function renderHeader() {
  const header = $("channel-header");
  if (page.selection.kind === "system") {
    header.replaceChildren(...renderSystemHeader(system(page.selection.slug)));
    return;
  }
  const title = el("div", "header-title");
  const details = el("div", "header-details");
  if (page.selection.kind === "channel") {
    const c = channel(page.selection.id);
    title.append(el("span", "header-icon", CHANNEL_ICONS[c.kind]), el("span", "header-name", c.name));
    const humans = c.members.filter((id) => person(id)?.kind !== "bot");
    details.append(el("span", null, `${humans.length} members`));
    if (c.kind === "private") details.append(el("span", "header-tag", "private"));
    if (c.kind === "shared") details.append(el("span", "header-tag tag-external", "shared with another organisation"));
    if (c.outsiders.length) {
      const names = c.outsiders.map((id) => person(id)?.real_name || id).join(", ");
      details.append(el("span", "header-tag tag-guest", `includes people outside the directory: ${names}`));
    }
    const ask = el("button", "btn assistant-open", `Ask ${page.state.bot.real_name}`);
    ask.type = "button";
    ask.addEventListener("click", () => openAssistant(c.id));
    header.replaceChildren(title, details, ask);
    return;
  }
  title.append(el("span", "avatar avatar-app", "T"), el("span", "header-name", page.state.bot.real_name), el("span", "badge-app", "APP"));
  const tabs = el("div", "tabs");
  tabs.setAttribute("role", "tablist");
  for (const [tab, label] of [["home", "Home"], ["messages", "Messages"]]) {
    const button = el("button", "tab", label);
    button.type = "button";
    button.setAttribute("role", "tab");
    button.setAttribute("aria-selected", String(page.selection.tab === tab));
    button.addEventListener("click", () => select({ kind: "app", tab }));
    tabs.append(button);
  }
  header.replaceChildren(title, tabs);
}

function renderMain() {
  const list = $("messages");
  const home = $("home");
  const composer = $("composer");
  const showHome = page.selection.kind === "app" && page.selection.tab === "home";
  const showSystem = page.selection.kind === "system";
  home.hidden = !showHome;
  list.hidden = showHome || showSystem;
  composer.hidden = showHome || showSystem;
  $("systems").hidden = !showSystem;
  if (showSystem) {
    $("systems").replaceChildren(renderSystem(system(page.selection.slug), systemPage));
    return;
  }
  if (showHome) {
    renderHome(home);
    return;
  }
  const channelId = currentChannelId();
  const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const shown = [
    ...messagesIn(channelId).filter((m) => !m.thread_ts || m.thread_ts === m.ts),
    ...ephemeralsIn(channelId),
  ].sort(byTs);
  const nodes = shown.map((m) => renderMessage(m, messagePage));
  nodes.find((node) => page.flash && node.dataset.ts === page.flash)?.classList.add("msg-flash");
  if (!nodes.length) {
    const name = page.selection.kind === "app" ? page.state.bot.real_name : `#${channel(channelId)?.name}`;
    const empty = el("div", "empty", `This is the very beginning of ${name}. `);
    empty.append(el("span", "empty-hint", page.selection.kind === "app"
      ? "Ask a question here, or type /trellis help."
      : `Mention @${page.state.bot.name} with a question, or type /trellis help.`));
    nodes.push(empty);
  }
  list.replaceChildren(...nodes);
  const placeholder = page.selection.kind === "app"
    ? `Message ${page.state.bot.real_name}`
    : `Message #${channel(channelId)?.name} — mention @${page.state.bot.name} to ask`;
  $("composer-text").placeholder = placeholder;
  if (stick) scrollToBottom(false);
}

function renderHome(home) {
  const view = page.state.home;
  if (!view) {
    home.replaceChildren(el("div", "empty", `${page.state.bot.real_name} has not published a Home tab for you yet.`));
    return;
  }
  if (home.dataset.hash === `${page.me}:${view.hash}`) return;
  home.dataset.hash = `${page.me}:${view.hash}`;
  const ctx = {
    ...textContext(),
    confirm: messagePage.confirm,
    act: (action) => api("click_view", { view_id: view.id, ...action }),
  };
  home.replaceChildren(renderBlocks(view.blocks, ctx));
}

async function openAssistant(viewing) {
  const answer = await api("assistant", { viewing });
  if (!answer.ok) return;
  page.thread = { channel: answer.channel, ts: answer.thread_ts, assistant: true };
  await refresh();
}

function openThread(channelId, ts) {
  page.thread = { channel: channelId, ts };
  renderThread();
  $("thread-text").focus();
}

function renderThread() {
  const panel = $("thread");
  if (!page.thread) {
    panel.hidden = true;
    return;
  }
  const { channel: channelId, ts } = page.thread;
  const all = messagesIn(channelId);
  const parent = all.find((m) => m.ts === ts);
  if (!parent) {
    panel.hidden = true;
    return;
  }
  panel.hidden = false;
  const c = channel(channelId);
  $("thread-where").textContent = c?.kind === "im" ? page.state.bot.real_name : `#${c?.name}`;
  const list = $("thread-messages");
  const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 80;
  const replies = all.filter((m) => m.thread_ts === ts && m.ts !== ts);
  const shown = [...replies, ...ephemeralsIn(channelId, ts)].sort(byTs);
  const nodes = [renderMessage(parent, messagePage, { inThread: true })];
  nodes.push(el("div", "thread-divider", `${replies.length} ${replies.length === 1 ? "reply" : "replies"}`));
  for (const reply of shown) nodes.push(renderMessage(reply, messagePage, { inThread: true }));
  list.replaceChildren(...nodes);
  const assistant = assistantThread(page.state, channelId, ts);
  decorateAssistant(panel, list, page.state, assistant, (text) =>
    api("post", { channel: channelId, text, thread_ts: ts }).then(refresh));
  if (!assistant) decorateThreadStatus(list, page.state, channelId, ts);
  if (stick) list.scrollTop = list.scrollHeight;
}

function scrollToBottom(force) {
  const list = $("messages");
  if (force || !list.hidden) list.scrollTop = list.scrollHeight;
}

// -- the composers ----------------------------------------------------------------------------

async function send(textarea, threadTs) {
  const raw = textarea.value.trim();
  if (!raw) return;
  const channelId = threadTs ? page.thread.channel : currentChannelId();
  textarea.value = "";
  let answer;
  if (raw.startsWith("/")) {
    const [command, ...rest] = raw.split(" ");
    answer = await api("command", { channel: channelId, command, text: rest.join(" ") });
  } else {
    answer = await api("post", { channel: channelId, text: raw, thread_ts: threadTs || undefined });
  }
  if (!answer.ok) {
    textarea.value = raw;
    return;
  }
  await refresh();
  const asksApp = page.selection.kind === "app" || (answer.text || "").includes(`<@${page.state.bot.user_id}>`);
  if (!threadTs && answer.ts && asksApp) {
    const dm = page.selection.kind === "app" ? appDm()?.id : channelId;
    openThread(dm || channelId, answer.ts);
  }
  scrollToBottom(true);
}

function wireComposer(form, textarea, threadTs) {
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(textarea, threadTs());
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send(textarea, threadTs());
    }
  });
}

// -- little things ----------------------------------------------------------------------------

function toast(text) {
  const note = el("div", "toast", text);
  note.setAttribute("role", "alert");
  $("toasts").append(note);
  setTimeout(() => note.remove(), 6000);
}

function start() {
  page.me = new URL(location.href).searchParams.get("as");
  wireComposer($("composer"), $("composer-text"), () => null);
  wireComposer($("thread-composer"), $("thread-text"), () => page.thread?.ts);
  $("thread-close").addEventListener("click", () => {
    page.thread = null;
    renderThread();
  });
  $("as-user").addEventListener("change", async (event) => {
    page.me = event.target.value;
    page.thread = null;
    page.dismissed.clear();
    page.seen = {};
    await refresh();
    connect();
    if (page.selection?.kind === "app" && page.selection.tab === "home") api("home");
  });
  loadEmoji().then(refresh).then(connect);
}

start();
