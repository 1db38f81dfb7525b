// The port25 portal: the member's pages and the operator's console, one
// page application over /api/v1.  Every datum comes from the API, as the
// signed-in user is allowed to see it; what the API answers 404 (another
// organization's object, or none) is "not found" here too.
import { h, clear, api, q, setCsrf, time } from "./lib.js";
import * as member from "./member.js";
import * as operator from "./operator.js";

export const state = { session: null };
const main = () => document.getElementById("main");

// ---- navigation ----
export function go(path, replace) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  route();
}

document.addEventListener("click", (e) => {
  const a = e.target.closest && e.target.closest("a[href]");
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const href = a.getAttribute("href");
  if (!href.startsWith("/") || href.startsWith("//") || href.startsWith("/api/")) return;
  e.preventDefault();
  go(href);
});
window.addEventListener("popstate", () => route());

// A page: its title and content in <main>, focus moved there (screen readers, keyboard).
export function page(title, ...content) {
  document.title = title + " · port25";
  const m = clear(main());
  m.appendChild(h("h1", {}, title));
  for (const c of content) if (c) m.appendChild(c);
  m.focus({ preventScroll: true });
  return m;
}

export function notFound() {
  document.title = "Not found · port25";
  const m = clear(main());
  m.appendChild(h("h1", { id: "not-found" }, "Not found"));
  m.appendChild(h("p", {}, "There is nothing here, or nothing you may see. Check the address, or go back to ",
    h("a", { href: "/" }, "your start page"), "."));
  m.focus({ preventScroll: true });
}

// An API failure as a page (404: not found; 401: sign in again).
export function failed(r) {
  if (r.status === 404) return notFound();
  if (r.status === 401) { state.session = null; return go("/login?next=" + encodeURIComponent(location.pathname), true); }
  page("Something went wrong", h("p", { class: "error", role: "alert" }, r.error.message));
}

// An error message next to a field (and announced).
export function fieldError(el, message) {
  let box = el.parentElement.querySelector(":scope > .field-error");
  if (!box) {
    box = h("span", { class: "field-error", role: "alert", id: (el.id || "f" + Math.random().toString(36).slice(2)) + "-error" });
    el.parentElement.appendChild(box);
  }
  box.textContent = message || "";
  if (message) { el.setAttribute("aria-invalid", "true"); el.setAttribute("aria-describedby", box.id); }
  else el.removeAttribute("aria-invalid");
  return box;
}

// The API's error shown at the form field it names (or the form's own error box).
export function showApiError(form, err) {
  const f = err.field && form.querySelector(`[name="${CSS.escape(err.field)}"]`);
  const box = form.querySelector(".form-error");
  if (f) fieldError(f, err.message);
  else if (box) box.textContent = err.message;
}

// ---- chrome ----
function navigation() {
  const nav = clear(document.getElementById("nav"));
  const who = clear(document.getElementById("who"));
  const s = state.session;
  if (!s) return;
  const links = [];
  if (s.role === "member") {
    for (const org of s.orgs) links.push(["/dashboard/" + encodeURIComponent(org), s.orgs.length > 1 ? org : "Dashboard"]);
    const org = s.orgs[0];
    if (org) {
      const o = encodeURIComponent(org);
      links.push(["/variance/" + o, "Request a variance"], ["/explain/" + o, "Why blocked?"],
        ["/contacts/" + o, "Contacts"], ["/analysis/" + o, "Analysis"]);
    }
  } else {
    links.push(["/queue", "Queue"], ["/orgs", "Organizations"], ["/alerts", "Alerts"], ["/audit", "Audit log"], ["/explain", "Explain"]);
    if (s.role === "operator") links.push(["/accounts", "Accounts"]);
  }
  links.push(["/accounts/" + encodeURIComponent(s.user), "My account"]);
  nav.appendChild(h("ul", {}, links.map(([href, text]) =>
    h("li", {}, h("a", { href, "aria-current": location.pathname === href ? "page" : null }, text)))));
  who.appendChild(h("span", {}, s.user + " (" + s.role + ")"));
  who.appendChild(h("button", { type: "button", class: "link", onclick: logout }, "Sign out"));
}

async function logout() {
  await api("POST", "/logout");
  state.session = null;
  setCsrf(null);
  go("/login");
}

function loginPage() {
  const next = new URLSearchParams(location.search).get("next") || "/";
  const form = h("form", { class: "card narrow", novalidate: true },
    h("p", { class: "field" }, h("label", { for: "login-name" }, "User name"),
      h("input", { id: "login-name", name: "name", autocomplete: "username", required: true })),
    h("p", { class: "field" }, h("label", { for: "login-password" }, "Password"),
      h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true })),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = await api("POST", "/login", { name: form.name.value, password: form.password.value });
    if (!r.ok) { form.querySelector(".form-error").textContent = r.error.message; return; }
    state.session = r.data;
    setCsrf(r.data.csrf_token);
    go(next.startsWith("/") && !next.startsWith("//") ? next : "/", true);
  });
  page("Sign in", form);
  navigation();
  form.name.focus();
}

// ---- routes: [pattern, handler(params), who] ----
const routes = [
  [/^\/$/, () => home()],
  [/^\/dashboard\/([^/]+)$/, (p) => member.dashboard(p[0])],
  [/^\/signup\/([^/]+)$/, (p) => member.signup(p[0])],
  [/^\/variance\/([^/]+)$/, (p) => member.variance(p[0])],
  [/^\/explain(?:\/([^/]+))?$/, (p) => member.explain(p[0])],
  [/^\/contacts\/([^/]+)$/, (p) => member.contacts(p[0])],
  [/^\/analysis\/([^/]+)$/, (p) => member.analysis(p[0])],
  [/^\/requests\/([^/]+)$/, (p) => member.request(p[0])],
  [/^\/queue$/, () => operator.queue()],
  [/^\/orgs$/, () => operator.orgs()],
  [/^\/orgs\/([^/]+)$/, (p) => operator.org(p[0])],
  [/^\/alerts$/, () => operator.alerts()],
  [/^\/audit$/, () => operator.audit()],
  [/^\/accounts$/, () => operator.accounts()],
  [/^\/accounts\/([^/]+)$/, (p) => operator.account(p[0])],
];

function home() {
  const s = state.session;
  if (s.role === "member") {
    if (s.orgs.length) return go("/dashboard/" + encodeURIComponent(s.orgs[0]), true);
    return page("Welcome", h("p", {}, "Your account is bound to no organization yet: ask the operator."));
  }
  return go("/queue", true);
}

export async function route() {
  if (location.pathname === "/login") return loginPage();
  if (!state.session) {
    const r = await api("GET", "/session");
    if (!r.ok) return go("/login" + q({ next: location.pathname !== "/" ? location.pathname : "" }), true);
    state.session = r.data;
    setCsrf(r.data.csrf_token);
  }
  navigation();
  for (const [re, run] of routes) {
    const m = re.exec(location.pathname);
    if (m) {
      let params;
      try { params = m.slice(1).map((x) => (x === undefined ? undefined : decodeURIComponent(x))); }
      catch (e) { return notFound(); }
      return run(params);
    }
  }
  notFound();
}

export { time };
route();
