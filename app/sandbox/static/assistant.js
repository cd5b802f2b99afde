// The assistant view: the split pane beside a channel, showing one assistant thread with the
// title the app set, its suggested prompts, and the status line while the app works.
//
// thread: one of state.assistant_threads ({channel, thread_ts, title, status, loading_messages,
// prompts, prompts_title, context}); ask(message) posts a prompt's message in the thread.

import { el } from "./dom.js";

export function assistantThread(state, channelId, ts) {
  return (state.assistant_threads || []).find((t) => t.channel === channelId && t.thread_ts === ts) || null;
}

// Any other thread shows the status line too while the app works in it (Slack allows
// assistant.threads.setStatus in every thread).
export function decorateThreadStatus(list, state, channelId, ts) {
  const status = state.statuses?.[`${channelId}:${ts}`];
  if (status) list.append(statusLine(state, status, null));
}

export function decorateAssistant(panel, list, state, thread, ask) {
  panel.classList.toggle("thread-assistant", Boolean(thread));
  const title = panel.querySelector(".thread-title");
  if (!thread) {
    title.textContent = "Thread";
    return;
  }
  title.textContent = thread.title || state.bot.real_name;
  if (thread.prompts.length) list.append(prompts(thread, ask));
  const status = state.statuses?.[`${thread.channel}:${thread.thread_ts}`];
  if (status) list.append(statusLine(state, status, thread.loading_messages));
}

function prompts(thread, ask) {
  const box = el("div", "assistant-prompts");
  box.setAttribute("aria-label", thread.prompts_title || "Suggested prompts");
  if (thread.prompts_title) box.append(el("div", "assistant-prompts-title", thread.prompts_title));
  for (const prompt of thread.prompts) {
    const button = el("button", "assistant-prompt", prompt.title);
    button.type = "button";
    button.title = prompt.message;
    button.addEventListener("click", () => ask(prompt.message));
    box.append(button);
  }
  return box;
}

function statusLine(state, status, loading) {
  const line = el("div", "assistant-status");
  line.setAttribute("role", "status");
  line.append(el("span", "assistant-status-dot"), el("span", null, `${state.bot.real_name} ${status}`));
  if (loading?.length) line.append(el("span", "assistant-status-loading", loading[0]));
  return line;
}
