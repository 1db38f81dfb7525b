// The operator's console: the queue, organizations, alerts, the audit log,
// accounts and tokens.  An auditor sees the same pages; the API refuses
// their changes, and the pages show its answer.
import { h, clear, api, q, time, liveCountdown } from "./lib.js";
import { state, page, failed, go, fieldError, showApiError } from "./app.js";
import { requestWords } from "./member.js";

const enc = encodeURIComponent;

function table(id, heads, rows) {
  return h("div", { class: "scroll" }, h("table", { id },
    h("thead", {}, h("tr", {}, heads.map((t) => h("th", { scope: "col" }, t)))),
    h("tbody", {}, rows)));
}

function verdictWords(d) {
  return d.verdict === "permit" ? "allowed" : d.verdict === "block" ? "blocked" : "not blocked (" + d.reason + ")";
}

// What explain says now, and what it will say once the request is applied.
async function beforeAfter(x) {
  const out = h("ul", { class: "plain explain" });
  for (const s of x.servers || []) {
    const r = await api("GET", "/explain" + q({ address: s.address.split("/")[0] }));
    const before = r.ok ? verdictWords(r.data.outbound) : r.error.message;
    const after = x.type === "remove-permit" ? "blocked (no permit)" : "allowed (permit for " + s.address + ")";
    out.appendChild(h("li", {}, h("span", { class: "addr" }, s.address), ": outbound now ", h("strong", {}, before), "; after: ", h("strong", {}, after)));
  }
  return out;
}

export async function queue() {
  const [sub, appr] = await Promise.all([api("GET", "/requests" + q({ status: "submitted", limit: 1000 })), api("GET", "/requests" + q({ status: "approved", limit: 1000 }))]);
  if (!sub.ok) return failed(sub);
  if (!appr.ok) return failed(appr);
  // A sign-up has no due time (it is scheduled with the member): after the variances, oldest first.
  const key = (x) => (x.due || "~") + x.submitted;
  const items = [...sub.data.items, ...appr.data.items].sort((a, b) => key(a).localeCompare(key(b)));
  const rows = [];
  for (const x of items) {
    const box = h("span", { class: "form-error", role: "alert" });
    const act = h("div", { class: "actions" });
    const step = (name, label, body) => {
      const b = h("button", { type: "button", class: "small", "data-step": name, "aria-label": `${label} request ${x.id}` }, label);
      b.addEventListener("click", async () => {
        const rr = await api("POST", `/requests/${x.id}/${name}`, body ? body() : undefined);
        if (!rr.ok) { box.textContent = rr.error.message; return; }
        queue();
      });
      return b;
    };
    if (x.status === "submitted") {
      act.appendChild(step("approve", "Approve"));
      const reason = h("input", { id: `reason-${x.id}`, name: "reason", placeholder: "reason" });
      const rej = h("button", { type: "button", class: "small danger", "aria-label": `Reject request ${x.id}` }, "Reject");
      rej.addEventListener("click", async () => {
        if (!reason.value.trim()) { fieldError(reason, "a reason is needed to reject"); reason.focus(); return; }
        const rr = await api("POST", `/requests/${x.id}/reject`, { reason: reason.value });
        if (!rr.ok) { fieldError(reason, rr.error.message); return; }
        queue();
      });
      act.appendChild(h("span", { class: "field inline" }, h("label", { for: reason.id, class: "sr-only" }, "Reason to reject request " + x.id), reason));
      act.appendChild(rej);
    } else act.appendChild(step("apply", "Apply", () => ({})));
    rows.push(h("tr", { class: x.overdue ? "overdue" : "", "data-request": x.id },
      h("td", {}, h("a", { href: "/requests/" + x.id }, "#" + x.id)),
      h("td", {}, h("a", { href: "/orgs/" + enc(x.org) }, x.org)),
      h("td", {}, x.status),
      h("td", {}, x.due ? [time(x.due), h("br"), liveCountdown(x.due)] : h("span", { class: "scheduled" }, "a sign-up: scheduled with the member")),
      h("td", { class: "what" }, h("p", {}, requestWords(x)), await beforeAfter(x)),
      h("td", {}, act, box)));
  }
  page("Queue",
    h("p", {}, plural(items.length), " open, sorted by due time (48 hours after submission; sign-ups, scheduled with the member, last); overdue ones in red."),
    items.length ? table("queue", ["Request", "Organization", "Status", "Due", "What it does", ""], rows) : h("p", { class: "card" }, "Nothing is waiting."));
}

function plural(n) { return n === 1 ? "1 request" : n + " requests"; }

export async function orgs() {
  const r = await api("GET", "/orgs" + q({ limit: 1000 }));
  if (!r.ok) return failed(r);
  const text = h("input", { id: "o-filter", type: "search" });
  const enr = h("select", { id: "o-enrollment" }, ["", "none", "pending", "active"].map((v) => h("option", { value: v }, v || "any")));
  const tbody = h("tbody");
  const draw = () => {
    clear(tbody);
    const t = text.value.trim().toLowerCase();
    for (const o of r.data.items) {
      if (t && !o.handle.toLowerCase().includes(t) && !o.name.toLowerCase().includes(t)) continue;
      if (enr.value && o.enrollment !== enr.value) continue;
      tbody.appendChild(h("tr", {}, h("td", {}, h("a", { href: "/orgs/" + enc(o.handle) }, o.handle)), h("td", {}, o.name),
        h("td", {}, o.enrollment), h("td", {}, o.mode), h("td", {}, String(o.permits ?? "")), h("td", {}, String(o.open_requests ?? ""))));
    }
  };
  text.addEventListener("input", draw);
  enr.addEventListener("change", draw);
  draw();
  page("Organizations",
    h("p", { class: "filters" }, h("label", { for: "o-filter" }, "Name or handle"), text, h("label", { for: "o-enrollment" }, "Enrollment"), enr),
    h("div", { class: "scroll" }, h("table", { id: "orgs" }, h("thead", {}, h("tr", {}, ["Handle", "Name", "Enrollment", "Mode", "Permits", "Open requests"].map((x) => h("th", { scope: "col" }, x)))), tbody)));
}

export async function org(handle) {
  const r = await api("GET", "/orgs/" + enc(handle));
  if (!r.ok) return failed(r);
  const o = r.data;
  const au = await api("GET", "/audit" + q({ limit: 1000 }));
  const mine = au.ok ? au.data.items.filter((a) => a.object === o.handle || (a.after && a.after.org === o.handle) || (a.before && a.before.org === o.handle)) : [];
  page(o.name + " (" + o.handle + ")",
    h("section", { class: "card" }, h("dl", { class: "facts" },
      h("dt", {}, "Enrollment"), h("dd", {}, o.enrollment), h("dt", {}, "Mode"), h("dd", {}, o.mode), h("dt", {}, "Action"), h("dd", {}, o.action),
      h("dt", {}, "Created"), h("dd", {}, time(o.created)))),
    h("h2", {}, "Address space"), h("ul", {}, o.prefixes.map((p) => h("li", { class: "addr" }, p.prefix, p.description ? " — " + p.description : ""))),
    h("h2", {}, "Contacts"), table("org-contacts", ["Name", "E-mail", "Phone", "Role"], o.contacts.map((c) => h("tr", {}, h("td", {}, c.name), h("td", {}, c.email), h("td", {}, c.phone), h("td", {}, c.role)))),
    h("h2", {}, "Permits"), table("org-permits", ["Address", "Kind", "Description", "Status", "Expires"], o.permits.map((p) => h("tr", {}, h("td", { class: "addr" }, p.address), h("td", {}, p.kind), h("td", {}, p.description), h("td", {}, p.status), h("td", {}, time(p.expires))))),
    h("h2", {}, "Open requests"), h("ul", {}, o.open_requests.map((x) => h("li", {}, h("a", { href: "/requests/" + x.id }, "#" + x.id), " ", requestWords(x), x.due ? [" — due ", time(x.due)] : " — a sign-up, scheduled with the member"))),
    h("h2", {}, "Audit history"), auditTable("org-audit", mine));
}

function auditTable(id, items) {
  return table(id, ["When", "Who", "What", "Object"], items.map((a) =>
    h("tr", {}, h("td", {}, time(a.at)), h("td", {}, a.actor), h("td", {}, a.action), h("td", {}, a.object_type + " " + a.object))));
}

export async function alerts() {
  const r = await api("GET", "/alerts" + q({ status: "open", limit: 1000 }));
  if (!r.ok) return failed(r);
  const rows = r.data.items.map((a) => {
    const box = h("span", { class: "form-error", role: "alert" });
    const b = h("button", { type: "button", class: "small", "aria-label": "Draft a request for " + a.host }, "Draft a request");
    b.addEventListener("click", async () => {
      const rr = await api("POST", "/requests", { org: a.org, type: "add-permit", note: "drafted from alert " + a.id, servers: [{ address: a.host, kind: "mail-server", description: "alert " + a.id }] });
      if (!rr.ok) { box.textContent = rr.error.message; return; }
      go("/requests/" + rr.data.id);
    });
    return h("tr", {}, h("td", {}, a.kind), h("td", { class: "addr" }, a.host), h("td", {}, a.org || "—"), h("td", {}, time(a.raised)),
      h("td", {}, a.reason || "", h("pre", { class: "evidence" }, JSON.stringify(a.evidence, null, 1))),
      h("td", {}, a.kind === "missed-server" && a.org ? b : null, box));
  });
  page("Alerts", rows.length ? table("alerts", ["Kind", "Host", "Organization", "Raised", "Evidence", ""], rows) : h("p", { class: "card" }, "No open alert."));
}

export async function audit() {
  const r = await api("GET", "/audit" + q({ limit: 1000 }));
  if (!r.ok) return failed(r);
  const who = h("input", { id: "au-actor", type: "search" });
  const what = h("input", { id: "au-action", type: "search" });
  const obj = h("input", { id: "au-object", type: "search" });
  const holder = h("div");
  const draw = () => {
    clear(holder);
    holder.appendChild(auditTable("audit", r.data.items.filter((a) =>
      (!who.value || a.actor.includes(who.value)) && (!what.value || a.action.includes(what.value)) &&
      (!obj.value || (a.object_type + " " + a.object).includes(obj.value)))));
  };
  for (const i of [who, what, obj]) i.addEventListener("input", draw);
  draw();
  page("Audit log", h("p", { class: "filters" }, h("label", { for: "au-actor" }, "Who"), who, h("label", { for: "au-action" }, "Action"), what, h("label", { for: "au-object" }, "Object"), obj), holder);
}

export async function accounts() {
  const r = await api("GET", "/users" + q({ limit: 1000 }));
  if (!r.ok) return failed(r);
  const f = h("form", { class: "card", novalidate: true },
    h("p", { class: "field" }, h("label", { for: "u-name" }, "User name"), h("input", { id: "u-name", name: "name" })),
    h("p", { class: "field" }, h("label", { for: "u-role" }, "Role"), h("select", { id: "u-role", name: "role" }, ["member", "operator", "auditor"].map((x) => h("option", { value: x }, x)))),
    h("p", { class: "field" }, h("label", { for: "u-orgs" }, "Organizations (handles, comma separated)"), h("input", { id: "u-orgs", name: "orgs" })),
    h("p", { class: "field" }, h("label", { for: "u-password" }, "Password (10 characters or more)"), h("input", { id: "u-password", name: "password", type: "password", autocomplete: "new-password" })),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit" }, "Add the account"));
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { name: f.name.value, role: f.role.value, orgs: f.orgs.value.split(",").map((x) => x.trim()).filter(Boolean) };
    if (f.password.value) body.password = f.password.value;
    const rr = await api("POST", "/users", body);
    if (!rr.ok) { showApiError(f, rr.error); return; }
    accounts();
  });
  page("Accounts",
    table("users", ["Name", "Role", "Organizations", "Password", "Disabled", "Created"], r.data.items.map((u) =>
      h("tr", {}, h("td", {}, h("a", { href: "/accounts/" + enc(u.name) }, u.name)), h("td", {}, u.role), h("td", {}, u.orgs.join(", ")),
        h("td", {}, u.password ? "set" : "none (proxy or tokens)"), h("td", {}, u.disabled ? "yes" : "no"), h("td", {}, time(u.created))))),
    h("h2", {}, "Add an account"), f);
}

// One account and its tokens (anyone: their own).
export async function account(name) {
  const r = await api("GET", "/users/" + enc(name));
  if (!r.ok) return failed(r);
  const u = r.data;
  const t = await api("GET", "/tokens" + q({ user: name, limit: 1000 }));
  const secret = h("p", { id: "new-token", "aria-live": "polite" });
  const f = h("form", { class: "card", novalidate: true },
    h("p", { class: "field" }, h("label", { for: "t-description" }, "What it is for"), h("input", { id: "t-description", name: "description" })),
    h("p", { class: "field" }, h("label", { for: "t-expires" }, "Expires (30d, 2027-01-31, or empty for never)"), h("input", { id: "t-expires", name: "expires" })),
    h("p", { class: "field check" }, h("input", { id: "t-ro", name: "read_only", type: "checkbox" }), h("label", { for: "t-ro" }, "Read only")),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit" }, "Issue a token"), secret);
  f.addEventListener("submit", async (e) => {
    e.preventDefault();
    const body = { user: name, description: f.description.value, read_only: f.read_only.checked };
    if (f.expires.value) body.expires = f.expires.value;
    const rr = await api("POST", "/tokens", body);
    if (!rr.ok) { showApiError(f, rr.error); return; }
    await account(name);
    const s = document.getElementById("new-token");
    s.textContent = "The token, shown this once: ";
    s.appendChild(h("code", {}, rr.data.token || rr.data.secret || ""));
  });
  const rows = t.ok ? t.data.items.map((k) => {
    const b = h("button", { type: "button", class: "small danger", "aria-label": "Revoke token " + k.id }, "Revoke");
    b.addEventListener("click", async () => {
      const rr = await api("DELETE", "/tokens/" + k.id);
      if (!rr.ok) { fieldError(b, rr.error.message); return; }
      account(name);
    });
    return h("tr", {}, h("td", {}, k.hint + "…"), h("td", {}, k.description), h("td", {}, k.read_only ? "yes" : "no"), h("td", {}, k.status),
      h("td", {}, time(k.expires)), h("td", {}, time(k.last_used)), h("td", {}, k.status === "active" ? b : null));
  }) : [];
  const dis = h("button", { type: "button", class: "danger" }, u.disabled ? "Enable the account" : "Disable the account");
  dis.addEventListener("click", async () => {
    const rr = await api("PATCH", "/users/" + enc(name), { disabled: !u.disabled });
    if (!rr.ok) { fieldError(dis, rr.error.message); return; }
    account(name);
  });
  page("Account " + u.name,
    h("section", { class: "card" }, h("dl", { class: "facts" }, h("dt", {}, "Role"), h("dd", {}, u.role), h("dt", {}, "Organizations"), h("dd", {}, u.orgs.join(", ") || "—"),
      h("dt", {}, "Disabled"), h("dd", {}, u.disabled ? "yes" : "no")), state.session.role === "operator" && state.session.user !== name ? dis : null),
    h("h2", {}, "API tokens"), table("tokens", ["Token", "For", "Read only", "Status", "Expires", "Last used", ""], rows),
    h("h2", {}, "Issue a token"), f);
}
