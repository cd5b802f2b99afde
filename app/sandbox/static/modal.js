// Modals opened by the app (views.open / push / update): their inputs, Submit as
// view_submission, Cancel (view_closed when the app asked for it), and the errors the app
// answers with (`response_action: "errors"`) shown under the right input, as Slack does.
//
// page: { me, person(id), channel(id), confirm(object), api(name, body), refresh(), toast(text) }

import { renderBlocks } from "./blocks.js";
import { el } from "./dom.js";
import { renderEmoji } from "./mrkdwn.js";

const REQUIRED = "Please complete this required field.";

export class ModalLayer {
  constructor(root, page) {
    this.root = root;
    this.page = page;
    this.view = null;
    this.inputs = [];
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && this.view && !document.querySelector(".confirm-dialog")) this.cancel();
    });
  }

  show(view) {
    if (!view) {
      this.view = null;
      this.root.replaceChildren();
      return;
    }
    if (this.view && this.view.id === view.id && this.view.hash === view.hash) return;
    this.view = view;
    this.render(view);
  }

  render(view) {
    this.inputs = [];
    const ctx = {
      me: this.page.me,
      user: this.page.person,
      channel: this.page.channel,
      confirm: this.page.confirm,
      inputs: this.inputs,
      errors: {},
      act: (action) => this.click(action),
    };
    const overlay = el("div", "overlay");
    const dialog = el("div", "modal");
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.dataset.viewId = view.id;

    const head = el("header", "modal-head");
    const title = el("h2", "modal-title");
    title.append(renderEmoji(view.title?.text || ""));
    dialog.setAttribute("aria-label", view.title?.text || "Dialog");
    const close = el("button", "modal-x", "×");
    close.type = "button";
    close.setAttribute("aria-label", "Close");
    close.addEventListener("click", () => this.cancel());
    head.append(title, close);

    const body = el("div", "modal-body");
    body.append(renderBlocks(view.blocks, ctx));

    const foot = el("footer", "modal-foot");
    const cancel = el("button", "btn", view.close?.text || "Cancel");
    cancel.type = "button";
    cancel.addEventListener("click", () => this.cancel());
    foot.append(cancel);
    if (view.submit) {
      const submit = el("button", "btn btn-primary modal-submit", view.submit.text || "Submit");
      submit.type = "button";
      submit.addEventListener("click", () => this.submit(submit));
      foot.append(submit);
    }
    dialog.append(head, body, foot);
    overlay.append(dialog);
    this.root.replaceChildren(overlay);
    dialog.querySelector("input, textarea, select")?.focus();
  }

  values() {
    const values = {};
    for (const input of this.inputs) {
      values[input.block_id] = { ...(values[input.block_id] || {}), [input.action_id]: input.read() };
    }
    return values;
  }

  localErrors() {
    const errors = {};
    for (const input of this.inputs) {
      const value = input.read();
      const empty = value === null || value === "" || (Array.isArray(value) && !value.length);
      if (empty && !input.optional) errors[input.block_id] = REQUIRED;
      else if (!empty && input.check?.()) errors[input.block_id] = input.check();
    }
    return errors;
  }

  showErrors(errors) {
    for (const node of this.root.querySelectorAll(".bk-input")) {
      node.classList.remove("bk-input-invalid");
      node.querySelector(".bk-error")?.remove();
      const message = errors[node.dataset.blockId];
      if (message) {
        node.classList.add("bk-input-invalid");
        node.append(el("div", "bk-error", message));
      }
    }
  }

  async submit(button) {
    const view = this.view;
    const errors = this.localErrors();
    this.showErrors(errors);
    if (Object.keys(errors).length) return;
    button.disabled = true;
    try {
      const answer = await this.page.api("submit", { view_id: view.id, values: this.values() });
      if (answer?.ack?.response_action === "errors") this.showErrors(answer.ack.errors || {});
      else await this.page.refresh();
    } finally {
      button.disabled = false;
    }
  }

  async cancel() {
    if (!this.view) return;
    await this.page.api("close", { view_id: this.view.id });
    await this.page.refresh();
  }

  async click(action) {
    await this.page.api("click_view", { view_id: this.view.id, values: this.values(), ...action });
  }
}

// A button's `confirm` object as a small dialog; resolves true when confirmed.
export function confirmDialog(confirm, ctxForText) {
  return new Promise((resolve) => {
    const overlay = el("div", "overlay overlay-confirm");
    const dialog = el("div", "modal confirm-dialog");
    dialog.setAttribute("role", "alertdialog");
    dialog.setAttribute("aria-modal", "true");
    const title = el("h2", "modal-title");
    title.append(renderEmoji(confirm.title?.text || "Are you sure?"));
    const text = el("div", "modal-body");
    text.append(ctxForText(confirm.text));
    const foot = el("footer", "modal-foot");
    const deny = el("button", "btn", confirm.deny?.text || "Cancel");
    const yes = el("button", `btn ${confirm.style === "danger" ? "btn-danger" : "btn-primary"}`, confirm.confirm?.text || "Yes");
    deny.type = "button";
    yes.type = "button";
    const finish = (answer) => {
      overlay.remove();
      resolve(answer);
    };
    deny.addEventListener("click", () => finish(false));
    yes.addEventListener("click", () => finish(true));
    foot.append(deny, yes);
    dialog.append(title, text, foot);
    overlay.append(dialog);
    document.body.append(overlay);
    yes.focus();
  });
}
