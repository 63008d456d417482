import { h } from "./dom.ts";

export interface ConfirmOptions {
  title: string;
  message: string;
  confirm: string;
  /** Ask for a reason too (a halt's). */
  reason?: boolean;
}

/**
 * A modal `<dialog>`: focus moves in and is kept there, Escape cancels. Resolves with the reason
 * ("" without a reason field) when confirmed, undefined when cancelled.
 */
export function confirmDialog({
  title,
  message,
  confirm,
  reason,
}: ConfirmOptions): Promise<string | undefined> {
  return new Promise((resolve) => {
    const reasonInput = reason ? h("input", { id: "dialog-reason", name: "reason", maxlength: 1024 }) : null;
    const cancel = h("button", { type: "button", class: "secondary" }, "Cancel");
    const dialog = h(
      "dialog",
      { "aria-labelledby": "dialog-title" },
      h(
        "form",
        { method: "dialog" },
        h("h2", { id: "dialog-title" }, title),
        h("p", {}, message),
        reasonInput && h("label", { for: "dialog-reason" }, "Reason (optional)"),
        reasonInput,
        h(
          "div",
          { class: "actions" },
          h("button", { type: "submit", value: "confirm", class: "danger" }, confirm),
          cancel,
        ),
      ),
    );
    cancel.addEventListener("click", () => dialog.close("cancel"));
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "confirm" ? (reasonInput?.value.trim() ?? "") : undefined);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
