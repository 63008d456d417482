import { parseDocument, stringify } from "yaml";
import type { StoredPolicy } from "../../store/index.ts";
import { ApiError, api, type FieldIssue } from "./api.ts";
import { h } from "./dom.ts";
import { lineOfField } from "./field-lines.ts";
import type { Page } from "./page.ts";

const TEMPLATE = `apiVersion: hfi.dev/v1alpha1
kind: FaultInjectionPolicy
metadata:
  name: example
spec:
  match:
    path:
      prefix: /
  fault:
    abort:
      httpStatus: 503
    percentage: 100
`;

/**
 * Apply a policy written as YAML: PUT by its `metadata.name`, POST when it names none (the server then
 * says so). Each error the server finds is marked at the line of its field in the editor's line
 * numbers, and listed with that line, which activating it selects.
 */
export const editorPage: Page = (main, context, name) => {
  const editor = h("textarea", {
    id: "policy-yaml",
    spellcheck: "false",
    autocapitalize: "off",
    rows: 22,
    "aria-describedby": "apply-errors",
  });
  const errors = h("div", { id: "apply-errors", role: "alert" });
  // Line numbers, the erroneous ones marked; the list below says the same to assistive technology.
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" });
  const renderGutter = (marked: ReadonlyMap<number, string>) => {
    const count = editor.value.split("\n").length;
    gutter.replaceChildren(
      ...Array.from({ length: count }, (_, i) => {
        const message = marked.get(i + 1);
        return h("div", message ? { class: "bad", title: message } : {}, String(i + 1));
      }),
    );
    gutter.scrollTop = editor.scrollTop;
  };
  editor.addEventListener("input", () => renderGutter(new Map()));
  editor.addEventListener("scroll", () => {
    gutter.scrollTop = editor.scrollTop;
  });
  const form = h(
    "form",
    {
      onsubmit: (event) => {
        event.preventDefault();
        void apply();
      },
    },
    h("label", { for: "policy-yaml" }, "Policy (YAML)"),
    h("div", { class: "editor" }, gutter, editor),
    errors,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Apply")),
  );
  main.append(h("h1", { tabindex: -1 }, name ? `Edit policy ${name}` : "Apply a policy"), form);

  const selectLine = (line: number) => {
    const lines = editor.value.split("\n");
    const start = lines.slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
    editor.focus();
    editor.setSelectionRange(start, start + (lines[line - 1]?.length ?? 0));
  };

  const showIssues = (message: string, issues: FieldIssue[]) => {
    editor.setAttribute("aria-invalid", "true");
    const located = issues.map((issue) => ({ ...issue, line: lineOfField(editor.value, issue.path) }));
    renderGutter(new Map(located.map(({ line, path, message }) => [line, `${path}: ${message}`])));
    errors.replaceChildren(
      h("p", { class: "error" }, message),
      h(
        "ul",
        { class: "issues" },
        located.map(({ path, message, line }) =>
          h(
            "li",
            { "data-path": path },
            h("button", { type: "button", class: "link", onclick: () => selectLine(line) }, `Line ${line}`),
            " ",
            h("code", {}, path || "(document)"),
            `: ${message}`,
          ),
        ),
      ),
    );
  };

  const apply = async () => {
    const text = editor.value;
    const named = parseDocument(text).toJS()?.metadata?.name;
    const target = typeof named === "string" && named !== "" ? named : undefined;
    try {
      const body = { text, type: "application/yaml" };
      const policy = target
        ? await api<StoredPolicy>("PUT", `/v1/policies/${encodeURIComponent(target)}`, body)
        : await api<StoredPolicy>("POST", "/v1/policies", body);
      editor.removeAttribute("aria-invalid");
      errors.replaceChildren();
      renderGutter(new Map());
      context.announce(`Policy ${policy.metadata.name} applied`);
      context.navigate(`#/policies/${encodeURIComponent(policy.metadata.name)}`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      showIssues(err.message, err.details);
    }
  };

  const refresh = async () => {
    if (editor.value !== "") return;
    editor.value = name
      ? stringify(await api<StoredPolicy>("GET", `/v1/policies/${encodeURIComponent(name)}`))
      : TEMPLATE;
    renderGutter(new Map());
  };
  return { refresh, dispose: () => {} };
};
