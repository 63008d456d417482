import { type Access, ApiError, probeAccess, token, watchConfig } from "./api.ts";
import { h } from "./dom.ts";
import { editorPage } from "./editor.ts";
import { experimentPage, experimentsPage } from "./experiments.ts";
import { overviewPage } from "./overview.ts";
import type { Mounted, Page, PageContext } from "./page.ts";
import { policiesPage, policyPage } from "./policies.ts";

/** `#/<page>/<argument>`: the page for each first segment. */
const ROUTES: Record<string, Page> = {
  overview: overviewPage,
  policies: policiesPage,
  apply: editorPage,
  experiments: experimentsPage,
};

const main = document.getElementById("main") as HTMLElement;
const banner = document.getElementById("banner") as HTMLElement;
const status = document.getElementById("announce") as HTMLElement;
const access = document.getElementById("access") as HTMLElement;

let mounted: Mounted | undefined;
let context: PageContext | undefined;

function announce(message: string): void {
  status.textContent = message;
}

function failed(error: unknown): void {
  if (error instanceof ApiError && error.status === 401) {
    askForToken(error.message);
  } else {
    banner.hidden = false;
    banner.textContent = error instanceof Error ? error.message : String(error);
  }
}

function show(): void {
  if (!context) return;
  mounted?.dispose();
  banner.hidden = true;
  main.replaceChildren();
  const [, page = "overview", ...rest] = location.hash.split("/");
  const argument = decodeURIComponent(rest.join("/"));
  const detail = page === "policies" ? policyPage : page === "experiments" ? experimentPage : undefined;
  const render = (argument && detail) || ROUTES[page] || overviewPage;
  for (const link of document.querySelectorAll("nav a")) {
    link.toggleAttribute("aria-current", link.getAttribute("href") === `#/${page}`);
  }
  mounted = render(main, context, argument);
  mounted.refresh().catch(failed);
  main.querySelector("h1")?.focus();
}

/** The server wants a token: ask for one, kept for this tab only. */
function askForToken(reason: string): void {
  mounted?.dispose();
  mounted = undefined;
  context = undefined;
  const input = h("input", { id: "token", type: "password", autocomplete: "off", required: true });
  main.replaceChildren(
    h("h1", { tabindex: -1 }, "Sign in"),
    h(
      "form",
      {
        onsubmit: (event) => {
          event.preventDefault();
          token.set(input.value.trim());
          void start();
        },
      },
      h(
        "p",
        {},
        token.get() ? `The token was refused: ${reason}.` : "This control plane needs an API token.",
      ),
      h("label", { for: "token" }, "API token"),
      input,
      h("p", { class: "hint" }, "Kept in this tab only (sessionStorage) and sent with each API call."),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Sign in")),
    ),
  );
  input.focus();
}

async function start(): Promise<void> {
  let role: Access;
  try {
    role = await probeAccess();
  } catch (err) {
    return failed(err);
  }
  const canWrite = role === "writer";
  document.body.classList.toggle("reader", !canWrite);
  access.replaceChildren(
    canWrite ? "Read and write" : "Read only",
    token.get() ? h("button", { type: "button", class: "secondary", onclick: signOut }, "Forget token") : "",
  );
  context = { canWrite, announce, failed, navigate: (hash) => (location.hash = hash) };
  show();
}

function signOut(): void {
  token.forget();
  access.replaceChildren();
  askForToken("");
}

window.addEventListener("hashchange", show);
const stream = new AbortController();
void watchConfig(() => mounted?.refresh().catch(failed), stream.signal);
void start();
