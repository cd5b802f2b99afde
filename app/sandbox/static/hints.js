// The first-run panel: three things to try for the person you act as (sandbox.yml `hints`).
// "Try it" opens the place and puts the text in its composer; × hides the panel for this
// person, and "Things to try" in the sidebar brings it back.
//
// hint: {title, say, then, target: {kind: "channel", id, name} | {kind: "app" | "home" | "systems"}}
// page: { me, tryHint(hint), changed() }

import { el } from "./dom.js";
import { renderEmoji } from "./mrkdwn.js";

const STORE = "trellis-sandbox-hints-hidden";
const PLACES = { app: "your DM with Trellis", home: "the Home tab", systems: "Systems" };

export function hintsHidden(me) {
  return readHidden().includes(me);
}

export function setHintsHidden(me, hidden) {
  const others = readHidden().filter((id) => id !== me);
  try {
    localStorage.setItem(STORE, JSON.stringify(hidden ? [...others, me] : others));
  } catch {
    // Private windows may refuse storage: the panel then comes back on the next load.
  }
}

function readHidden() {
  try {
    const stored = JSON.parse(localStorage.getItem(STORE) || "[]");
    return Array.isArray(stored) ? stored : [];
  } catch {
    return [];
  }
}

export function renderHints(panel, hints, page) {
  panel.hidden = !hints.length || hintsHidden(page.me);
  if (panel.hidden) return;
  const head = el("div", "hints-head");
  head.append(el("span", "hints-title", "Things to try"));
  const close = el("button", "modal-x hints-close", "×");
  close.type = "button";
  close.setAttribute("aria-label", "Dismiss the hints");
  close.addEventListener("click", () => {
    setHintsHidden(page.me, true);
    page.changed();
  });
  head.append(close);
  const list = el("ol", "hints-list");
  for (const hint of hints) list.append(renderHint(hint, page));
  panel.replaceChildren(head, list);
}

function renderHint(hint, page) {
  const item = el("li", "hint");
  const where = hint.target.kind === "channel" ? `#${hint.target.name}` : PLACES[hint.target.kind];
  const title = el("div", "hint-title");
  title.append(el("strong", null, hint.title), el("span", "hint-where", ` in ${where}`));
  item.append(title);
  if (hint.say) {
    const say = el("code", "mk-code hint-say", hint.say);
    say.title = hint.say;
    item.append(say);
  }
  if (hint.then) {
    const then = el("div", "hint-then");
    then.append(renderEmoji(hint.then));
    item.append(then);
  }
  const go = el("button", "btn hint-try", hint.say ? "Try it" : "Go there");
  go.type = "button";
  go.addEventListener("click", () => page.tryHint(hint));
  item.append(go);
  return item;
}
