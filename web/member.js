// The member's pages: dashboard, sign-up, variance, a request, explain,
// contacts and the pre-block analysis.
import { h, clear, api, q, time, liveCountdown, parsePrefix, within, hostBitsSet, prefixKey } from "./lib.js";
import { state, page, failed, go, fieldError, showApiError, notFound } from "./app.js";

const KINDS = [["mail-server", "Mail server"], ["application-server", "Application server (sends alerts, reports)"], ["network-device", "Network device"]];
const ACK = "I understand that if I fail to provide a server address for exclusion from the block, mail from that server will not be allowed to be transmitted outside our network.";
const enc = encodeURIComponent;

function kindSelect(id, name, value) {
  return h("select", { id, name }, KINDS.map(([v, t]) => h("option", { value: v, selected: v === value }, t)));
}

function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

// What enrollment means, in plain words.
function enrollmentWords(org, permits) {
  const active = permits.filter((p) => p.status !== "expired");
  const dir = org.mode === "both" ? "to and from" : org.mode === "inbound" ? "to" : "from";
  switch (org.enrollment) {
    case "active":
      return active.length
        ? `Port 25 is blocked ${dir} every host of yours except the ${plural(active.length, "server", "servers")} below.`
        : `Port 25 is blocked ${dir} every host of yours: no server of yours is permitted.`;
    case "pending":
      return "Your sign-up is waiting for the operator: nothing is blocked yet. Once it is applied, port 25 is blocked for every host of yours except the servers you listed.";
    default:
      return "You have not signed up: port 25 is not blocked for any host of yours.";
  }
}

export async function dashboard(handle) {
  const r = await api("GET", "/orgs/" + enc(handle));
  if (!r.ok) return failed(r);
  const org = r.data;
  const [alerts, attempts] = await Promise.all([
    api("GET", "/alerts" + q({ org: handle, status: "open" })),
    api("GET", "/orgs/" + enc(handle) + "/attempts" + q({ days: 30 })),
  ]);
  const soon = Date.now() + 14 * 86400e3;
  const permits = org.permits;
  const state_ = h("section", { class: "card enrollment " + org.enrollment, "aria-labelledby": "enr-h" },
    h("h2", { id: "enr-h" }, "Enrollment: ", h("span", { class: "badge", id: "enrollment" }, org.enrollment)),
    h("p", { id: "enrollment-words" }, enrollmentWords(org, permits)),
    org.enrollment === "none" ? h("p", {}, h("a", { class: "button", href: "/signup/" + enc(handle) }, "Sign up for the port 25 block")) : null);

  const serverRows = permits.map((p) => {
    const expiring = p.expires && new Date(p.expires).getTime() < soon;
    const removeBtn = h("button", { type: "button", class: "small", "aria-label": "Request removal of " + p.address }, "Remove");
    removeBtn.addEventListener("click", async () => {
      const rr = await api("POST", "/requests", { org: handle, type: "remove-permit", permit_ids: [p.id] });
      if (!rr.ok) { fieldError(removeBtn, rr.error.message); return; }
      go("/requests/" + rr.data.id);
    });
    return h("tr", { class: expiring ? "expiring" : p.status === "expired" ? "expired" : "" },
      h("td", { class: "addr" }, p.address),
      h("td", {}, p.kind),
      h("td", {}, p.description),
      h("td", {}, p.status, expiring && p.status !== "expired" ? h("span", { class: "badge warn" }, " expires soon") : null),
      h("td", {}, time(p.expires)),
      h("td", {}, removeBtn));
  });
  const servers = h("section", { class: "card", "aria-labelledby": "srv-h" },
    h("h2", { id: "srv-h" }, "Your servers"),
    permits.length
      ? h("div", { class: "scroll" }, h("table", { id: "servers" },
        h("thead", {}, h("tr", {}, ["Address", "Kind", "Description", "Status", "Expires", ""].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, serverRows)))
      : h("p", {}, "No server of yours is permitted."),
    h("p", {}, h("a", { href: "/variance/" + enc(handle) }, "Add a missed server (request a variance)")));

  const reqs = h("section", { class: "card", "aria-labelledby": "req-h" },
    h("h2", { id: "req-h" }, "Open requests"),
    org.open_requests.length
      ? h("ul", { id: "open-requests", class: "plain" }, org.open_requests.map((x) =>
        h("li", {}, h("a", { href: "/requests/" + x.id }, "Request " + x.id + " (" + x.type + ", " + x.status + ")"),
          x.due ? [" — due ", time(x.due), ": ", liveCountdown(x.due)] : " — the operator schedules its activation with you")))
      : h("p", {}, "None."));

  const al = h("section", { class: "card", "aria-labelledby": "al-h" }, h("h2", { id: "al-h" }, "Open alerts"));
  if (alerts.ok && alerts.data.items.length) {
    al.appendChild(h("ul", { class: "plain" }, alerts.data.items.map((a) =>
      h("li", {}, h("strong", {}, a.kind === "missed-server" ? "Possible missed server " : "Possible infected host "),
        h("span", { class: "addr" }, a.host), " (", a.direction === "out" ? "outbound" : "inbound", "), raised ", time(a.raised),
        h("div", { class: "muted" }, a.reason || ""), evidence(a.evidence),
        a.kind === "missed-server" ? h("a", { href: "/variance/" + enc(handle) + q({ address: a.host }) }, "Request a variance for it") : null))));
  } else al.appendChild(h("p", {}, "None."));

  const chart = h("section", { class: "card", "aria-labelledby": "ch-h" },
    h("h2", { id: "ch-h" }, "Blocked attempts, last 30 days"),
    attempts.ok ? blockedChart(attempts.data.days) : h("p", {}, attempts.error.message));

  page(org.name + " (" + org.handle + ")", state_, servers, reqs, al, chart);
}

function evidence(ev) {
  if (!ev || typeof ev !== "object") return null;
  return h("dl", { class: "evidence" }, Object.entries(ev).flatMap(([k, v]) =>
    [h("dt", {}, k.replace(/_/g, " ")), h("dd", {}, typeof v === "object" ? JSON.stringify(v) : String(v))]));
}

// The attempts watch counted per UTC day, as the API gives them (every day
// present, oldest first): one bar a day, its outgoing part darker.
function blockedChart(days) {
  const n = days.length;
  const max = Math.max(1, ...days.map((d) => d.attempts));
  const W = 600, H = 160, bw = W / Math.max(n, 1);
  const NS = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H + 20}`);
  svg.setAttribute("class", "chart");
  svg.setAttribute("role", "img");
  svg.setAttribute("id", "attempts-chart");
  const total = days.reduce((a, d) => a + d.attempts, 0);
  const out = days.reduce((a, d) => a + d.out, 0);
  const busiest = days.reduce((b, d) => (d.attempts > (b ? b.attempts : 0) ? d : b), null);
  svg.setAttribute("aria-label", `Blocked attempts per day over the last ${n} days: ${total} in all` +
    (busiest ? `, most on ${busiest.day} (${busiest.attempts})` : ""));
  const bar = (x, y, height, cls, title) => {
    const r = document.createElementNS(NS, "rect");
    r.setAttribute("x", x); r.setAttribute("y", y); r.setAttribute("width", bw - 2); r.setAttribute("height", height);
    if (cls) r.setAttribute("class", cls);
    const t = document.createElementNS(NS, "title");
    t.textContent = title;
    r.appendChild(t);
    return r;
  };
  days.forEach((d, i) => {
    const title = `${d.day} (UTC): ${d.attempts} blocked (${d.out} from your hosts, ${d.in} to them)`;
    const all = d.attempts ? Math.max(1, Math.round((d.attempts / max) * H)) : 0;
    const o = d.attempts ? Math.round(all * d.out / d.attempts) : 0;
    const g = document.createElementNS(NS, "g");
    g.setAttribute("data-day", d.day);
    g.setAttribute("data-attempts", String(d.attempts));
    if (all - o > 0) g.appendChild(bar(i * bw + 1, H - all, all - o, "in", title));
    if (o > 0) g.appendChild(bar(i * bw + 1, H - o, o, "out", title));
    svg.appendChild(g);
  });
  const axis = document.createElementNS(NS, "line");
  axis.setAttribute("x1", 0); axis.setAttribute("x2", W); axis.setAttribute("y1", H + 0.5); axis.setAttribute("y2", H + 0.5);
  svg.appendChild(axis);
  if (n) for (const i of [0, n - 1]) {
    const t = document.createElementNS(NS, "text");
    t.setAttribute("x", i === 0 ? 0 : W); t.setAttribute("y", H + 16); t.setAttribute("text-anchor", i === 0 ? "start" : "end");
    t.textContent = days[i].day;
    svg.appendChild(t);
  }
  return h("figure", {}, svg, h("figcaption", { class: "muted", id: "attempts-caption" },
    `${total} blocked ${total === 1 ? "attempt" : "attempts"} in ${n} days (UTC): ${out} from your hosts, ${total - out} to them. ` +
    "Darker: from your hosts; lighter: to them. Hover a bar for its day."));
}

// ---- servers typed, pasted or uploaded: each line checked against the org's space ----
function serverList(org, existing) {
  const space = org.prefixes.map((p) => parsePrefix(p.prefix)).filter(Boolean);
  const taken = new Set(existing.map((p) => { const x = parsePrefix(p.address); return x ? prefixKey(x) : p.address; }));
  const list = h("ol", { id: "server-lines", class: "lines" });
  let n = 0;

  function addLine(address = "", kind = "mail-server", description = "") {
    const i = n++;
    const addr = h("input", { id: `srv-${i}-address`, name: `server-address`, value: address, autocomplete: "off", spellcheck: "false", inputmode: "text" });
    const k = kindSelect(`srv-${i}-kind`, "server-kind", kind);
    const d = h("input", { id: `srv-${i}-description`, name: "server-description", value: description });
    const rm = h("button", { type: "button", class: "small", "aria-label": "Remove this line" }, "✕");
    const li = h("li", { class: "line" },
      h("span", { class: "field" }, h("label", { for: addr.id }, "Address"), addr),
      h("span", { class: "field" }, h("label", { for: k.id }, "Kind"), k),
      h("span", { class: "field" }, h("label", { for: d.id }, "Description"), d),
      rm);
    rm.addEventListener("click", () => { li.remove(); check(); });
    addr.addEventListener("input", () => check());
    list.appendChild(li);
    return li;
  }

  // Every line's error next to it; true when all are good.
  function check() {
    const seen = new Map();
    let good = true;
    for (const li of list.children) {
      const input = li.querySelector("input[name=server-address]");
      const text = input.value.trim();
      let msg = "";
      const p = parsePrefix(text);
      if (!text) msg = "an address is needed (or remove the line)";
      else if (!p) msg = `'${text}' is not an IPv4 or IPv6 address`;
      else if (hostBitsSet(p)) msg = `'${text}' has host bits set`;
      else if ((p.family === 4 && p.len < 24) || (p.family === 6 && p.len < 120)) msg = `'${text}' is too wide: list the servers (at most a /24, or a /120 in IPv6)`;
      else if (!space.some((s) => within(p, s))) msg = `'${text}' is outside your address space (${org.prefixes.map((x) => x.prefix).join(", ")})`;
      else if (seen.has(prefixKey(p))) msg = `'${text}' is listed twice (line ${seen.get(prefixKey(p)) + 1})`;
      else if (taken.has(prefixKey(p))) msg = `'${text}' is already permitted`;
      if (p) seen.set(prefixKey(p), [...list.children].indexOf(li));
      fieldError(input, msg);
      li.classList.toggle("bad", !!msg);
      if (msg) good = false;
    }
    return good;
  }

  // "address[,kind[,description]]" lines, as pasted or as the CSV form.
  function addText(text) {
    for (let line of text.split(/\r?\n/)) {
      line = line.trim();
      if (!line || line.startsWith("#")) continue;
      const cells = line.split(/\s*[,;\t]\s*/);
      if (/^address$/i.test(cells[0])) continue; // the CSV form's header
      const kind = KINDS.find(([v]) => v.startsWith((cells[1] || "mail").toLowerCase().slice(0, 3)));
      addLine(cells[0], kind ? kind[0] : "mail-server", cells.slice(2).join(", "));
    }
    check();
  }

  function servers() {
    return [...list.children].map((li) => ({
      address: li.querySelector("[name=server-address]").value.trim(),
      kind: li.querySelector("[name=server-kind]").value,
      description: li.querySelector("[name=server-description]").value,
    }));
  }

  // An API error naming a server ("server 2 of the request: ..." or servers[1].kind) at its line.
  function apiError(err) {
    let i = -1;
    const m = /^server (\d+) of the request/.exec(err.message) || /^servers\[(\d+)\]/.exec(err.field || "");
    if (m) i = err.message.startsWith("server ") ? Number(m[1]) - 1 : Number(m[1]);
    const li = list.children[i];
    if (!li) return false;
    fieldError(li.querySelector("[name=server-address]"), err.message);
    li.classList.add("bad");
    return true;
  }

  const paste = h("textarea", { id: "paste", rows: 4, spellcheck: "false", placeholder: "192.0.2.25, mail-server, main MX\n192.0.2.26" });
  const file = h("input", { id: "csv", type: "file", accept: ".csv,text/csv,text/plain" });
  file.addEventListener("change", async () => { if (file.files[0]) addText(await file.files[0].text()); file.value = ""; });
  const widget = h("fieldset", { class: "servers" },
    h("legend", {}, "Servers allowed to send mail"),
    h("p", { class: "muted" }, "Include application servers and network devices that send e-mail alerts. Each line is checked as you type."),
    list,
    h("p", {}, h("button", { type: "button", id: "add-line", onclick: () => { addLine().querySelector("input").focus(); check(); } }, "Add a server")),
    h("p", { class: "field" }, h("label", { for: "paste" }, "Or paste a list (one a line: address, kind, description)"), paste,
      h("button", { type: "button", id: "add-pasted", onclick: () => { addText(paste.value); paste.value = ""; } }, "Add these lines")),
    h("p", { class: "field" }, h("label", { for: "csv" }, "Or upload the form as CSV (address,kind,description)"), file));
  return { widget, addLine, addText, check, servers, apiError };
}

export async function signup(handle) {
  const r = await api("GET", "/orgs/" + enc(handle));
  if (!r.ok) return failed(r);
  const org = r.data;
  const sl = serverList(org, org.permits);
  const sec = org.contacts.find((c) => c.role === "security");
  const cName = h("input", { id: "contact-name", name: "name", value: sec ? sec.name : "", autocomplete: "name", required: true });
  const cEmail = h("input", { id: "contact-email", name: "email", type: "email", value: sec ? sec.email : "", autocomplete: "email", required: true });
  const cPhone = h("input", { id: "contact-phone", name: "phone", type: "tel", value: sec ? sec.phone : "", autocomplete: "tel" });
  const confirm = h("input", { id: "contact-confirm", name: "contact_confirm", type: "checkbox" });
  const ack = h("input", { id: "ack", name: "ack", type: "checkbox" });
  const note = h("textarea", { id: "note", name: "note", rows: 2 });
  const form = h("form", { class: "card", novalidate: true },
    h("p", {}, "I would like to sign up for the outbound port 25 blocking service. I am providing all known e-mail server addresses below."),
    sl.widget,
    h("fieldset", {}, h("legend", {}, "Security contact, for future changes and security information"),
      h("p", { class: "field" }, h("label", { for: "contact-name" }, "Name"), cName),
      h("p", { class: "field" }, h("label", { for: "contact-email" }, "E-mail"), cEmail),
      h("p", { class: "field" }, h("label", { for: "contact-phone" }, "Phone"), cPhone),
      h("p", { class: "field check" }, confirm, h("label", { for: "contact-confirm" }, "This contact is correct"))),
    h("p", { class: "field" }, h("label", { for: "note" }, "Anything the operator should know (optional)"), note),
    h("p", { class: "field check" }, ack, h("label", { for: "ack" }, ACK)),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit", id: "submit-signup" }, "Submit the sign-up"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const box = form.querySelector(".form-error");
    box.textContent = "";
    let ok = sl.check();
    if (!sl.servers().length) { box.textContent = "List at least one server: without one, no mail leaves your network."; ok = false; }
    fieldError(confirm, confirm.checked ? "" : "please confirm the contact");
    fieldError(ack, ack.checked ? "" : "the sign-up needs this acknowledgement");
    if (!cEmail.value.includes("@")) { fieldError(cEmail, "an e-mail address is needed"); ok = false; } else fieldError(cEmail, "");
    if (!ok || !confirm.checked || !ack.checked) {
      const bad = form.querySelector("[aria-invalid=true]");
      if (bad) bad.focus();
      return;
    }
    // The contact first: it is the org's own record, changed only if it differs.
    const contact = { name: cName.value, email: cEmail.value, phone: cPhone.value };
    let cr = { ok: true };
    if (!sec) cr = await api("POST", "/contacts", { org: handle, role: "security", ...contact });
    else if (sec.name !== contact.name || sec.email !== contact.email || sec.phone !== contact.phone)
      cr = await api("PATCH", "/contacts/" + sec.id, contact);
    if (!cr.ok) {
      const f = { name: cName, email: cEmail, phone: cPhone }[cr.error.field];
      if (f) fieldError(f, cr.error.message); else box.textContent = cr.error.message;
      return;
    }
    const rr = await api("POST", "/requests", { org: handle, type: "signup", servers: sl.servers(), note: note.value || ACK });
    if (!rr.ok) { if (!sl.apiError(rr.error)) showApiError(form, rr.error); return; }
    go("/requests/" + rr.data.id);
  });
  sl.addLine();
  page("Sign up " + org.name + " for the port 25 block", form);
}

export async function variance(handle) {
  const r = await api("GET", "/orgs/" + enc(handle));
  if (!r.ok) return failed(r);
  const org = r.data;
  const pre = new URLSearchParams(location.search).get("address") || "";
  const addr = h("input", { id: "v-address", name: "servers[0].address", value: pre, required: true, spellcheck: "false" });
  const kind = kindSelect("v-kind", "servers[0].kind", "mail-server");
  const desc = h("input", { id: "v-description", name: "servers[0].description" });
  const exp = h("input", { id: "v-expires", name: "servers[0].expires", type: "date" });
  const note = h("textarea", { id: "v-note", name: "note", rows: 2 });
  const form = h("form", { class: "card", novalidate: true },
    h("p", { class: "field" }, h("label", { for: "v-address" }, "Server address"), addr),
    h("p", { class: "field" }, h("label", { for: "v-kind" }, "Kind"), kind),
    h("p", { class: "field" }, h("label", { for: "v-description" }, "Description"), desc),
    h("p", { class: "field" }, h("label", { for: "v-expires" }, "Expires (optional: a temporary variance)"), exp),
    h("p", { class: "field" }, h("label", { for: "v-note" }, "Why (optional)"), note),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit" }, "Request the variance"));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const p = parsePrefix(addr.value);
    const space = org.prefixes.map((x) => parsePrefix(x.prefix)).filter(Boolean);
    if (!p) return fieldError(addr, `'${addr.value}' is not an IPv4 or IPv6 address`);
    if (!space.some((s) => within(p, s))) return fieldError(addr, `'${addr.value}' is outside your address space`);
    fieldError(addr, "");
    const server = { address: addr.value.trim(), kind: kind.value, description: desc.value };
    if (exp.value) server.expires = exp.value;
    const rr = await api("POST", "/requests", { org: handle, type: "add-permit", servers: [server], note: note.value });
    if (!rr.ok) {
      if (/^server 1 of the request/.test(rr.error.message)) fieldError(addr, rr.error.message);
      else showApiError(form, rr.error);
      return;
    }
    go("/requests/" + rr.data.id);
  });
  page("Request a variance for " + org.name, h("p", {}, "A missed server, or one that needs to send mail for a while: the operator applies it within 48 hours."), form);
}

// What a request does, in words.
export function requestWords(x) {
  const list = (x.servers || []).map((s) => s.address).join(", ");
  if (x.type === "signup") return `signs ${x.org} up for the block, permitting ${list || "no server"}`;
  if (x.type === "add-permit") return `permits ${list} for ${x.org}`;
  if (x.type === "remove-permit") return `removes the permit of ${list || (x.removals || []).map((r) => r.address || r.permit_id).join(", ") || "a server"} for ${x.org}`;
  return x.type + " for " + x.org;
}

export async function request(id) {
  if (!/^\d+$/.test(id)) return notFound();
  const r = await api("GET", "/requests/" + id);
  if (!r.ok) return failed(r);
  const x = r.data;
  const open = x.status === "submitted" || x.status === "approved";
  const actions = h("p", { class: "actions" });
  const box = h("p", { class: "form-error", role: "alert" });
  const step = (name, label, body) => {
    const b = h("button", { type: "button", id: "req-" + name }, label);
    b.addEventListener("click", async () => {
      const rr = await api("POST", `/requests/${id}/${name}`, body ? body() : undefined);
      if (!rr.ok) { box.textContent = rr.error.message; return; }
      request(id);
    });
    return b;
  };
  if (open) actions.appendChild(step("cancel", "Cancel this request"));
  if (state.session.role === "operator") {
    if (x.status === "submitted") actions.appendChild(step("approve", "Approve"));
    if (x.status === "approved") actions.appendChild(step("apply", "Apply", () => ({})));
  }
  page("Request " + x.id,
    h("section", { class: "card" },
      h("p", { class: "lead" }, "This request ", requestWords(x), "."),
      h("dl", { class: "facts" },
        h("dt", {}, "Status"), h("dd", { id: "req-status" }, x.status),
        h("dt", {}, "Organization"), h("dd", {}, x.org),
        h("dt", {}, "Submitted"), h("dd", {}, time(x.submitted), " by ", x.requested_by),
        h("dt", {}, "Due"), h("dd", { id: "req-due" }, x.due ? [time(x.due), open ? [" — ", liveCountdown(x.due)] : null]
          : "no due time: a sign-up's activation is scheduled with you, not held to 48 hours"),
        x.approved ? [h("dt", {}, "Approved"), h("dd", {}, time(x.approved), " by ", x.approved_by)] : null,
        x.applied ? [h("dt", {}, "Applied"), h("dd", {}, time(x.applied), " by ", x.applied_by)] : null,
        x.rejected ? [h("dt", {}, "Rejected"), h("dd", {}, time(x.rejected), " by ", x.rejected_by, ": ", x.reason || "")] : null,
        x.note ? [h("dt", {}, "Note"), h("dd", {}, x.note)] : null),
      (x.servers || []).length ? h("table", { id: "req-servers" },
        h("thead", {}, h("tr", {}, ["Address", "Kind", "Description", "Expires"].map((t) => h("th", { scope: "col" }, t)))),
        h("tbody", {}, x.servers.map((s) => h("tr", {}, h("td", { class: "addr" }, s.address), h("td", {}, s.kind), h("td", {}, s.description), h("td", {}, time(s.expires)))))) : null,
      actions, box));
}

// ---- explain ----
function decisionWords(addr, dir, d) {
  const way = dir === "outbound" ? `Mail sent by ${addr} to the Internet on port 25` : `Connections from the Internet to port 25 of ${addr}`;
  switch (d.verdict) {
    case "permit": return `${way}: allowed — ${d.reason}.`;
    case "block": return `${way}: blocked — ${d.reason}.`;
    case "not-covered": return `${way}: not blocked by port25 — ${d.reason}.`;
    default: return `${way}: ${d.verdict} — ${d.reason}.`;
  }
}

export async function explain(handle) {
  const pre = new URLSearchParams(location.search).get("address") || "";
  const input = h("input", { id: "x-address", name: "address", value: pre, required: true, spellcheck: "false" });
  const out = h("div", { id: "explain-result", "aria-live": "polite" });
  const form = h("form", { class: "card", novalidate: true },
    h("p", { class: "field" }, h("label", { for: "x-address" }, "Address"), input),
    h("p", { class: "form-error", role: "alert" }),
    h("button", { type: "submit" }, "Explain"));
  const run = async () => {
    clear(out);
    fieldError(input, "");
    const r = await api("GET", "/explain" + q({ address: input.value.trim() }));
    if (!r.ok) { fieldError(input, r.error.message); return; }
    const x = r.data;
    out.appendChild(h("section", { class: "card" },
      h("h2", {}, x.address),
      x.organization ? h("p", {}, "In the space of ", h("strong", {}, x.organization.name), " (", x.organization.handle, "), ", x.space ? x.space.prefix : "", "; enrollment ", x.organization.enrollment, ".") : h("p", {}, "No member's address space holds this address."),
      h("p", { class: "decision " + x.outbound.verdict }, decisionWords(x.address, "outbound", x.outbound)),
      h("p", { class: "decision " + x.inbound.verdict }, decisionWords(x.address, "inbound", x.inbound)),
      h("p", { class: "muted" }, x.submission),
      x.expired_permits && x.expired_permits.length ? h("p", {}, "Expired permits: ", x.expired_permits.map((p) => p.address + " (" + p.expires + ")").join(", ")) : null,
      x.outbound.verdict === "block" && handle ? h("p", {}, h("a", { href: "/variance/" + enc(handle) + q({ address: x.address }) }, "Request a variance for this server")) : null));
  };
  form.addEventListener("submit", (e) => { e.preventDefault(); history.replaceState(null, "", location.pathname + q({ address: input.value.trim() })); run(); });
  page("Why is this address blocked?", form, out);
  if (pre) run();
}

// ---- contacts ----
export async function contacts(handle) {
  const r = await api("GET", "/contacts" + q({ org: handle }));
  if (!r.ok) return failed(r);
  const o = await api("GET", "/orgs/" + enc(handle));
  if (!o.ok) return failed(o);
  const ROLES = ["security", "technical", "admin", "billing"];
  const contactForm = (c) => {
    const pfx = c ? "c" + c.id : "new";
    const f = h("form", { class: "card contact", novalidate: true, "aria-label": c ? "Contact " + c.name : "New contact" },
      ...["name", "email", "phone"].map((k) => h("p", { class: "field" }, h("label", { for: `${pfx}-${k}` }, k === "email" ? "E-mail" : k[0].toUpperCase() + k.slice(1)),
        h("input", { id: `${pfx}-${k}`, name: k, value: c ? c[k] : "", type: k === "email" ? "email" : k === "phone" ? "tel" : "text" }))),
      h("p", { class: "field" }, h("label", { for: `${pfx}-role` }, "Role"),
        h("select", { id: `${pfx}-role`, name: "role" }, ROLES.map((x) => h("option", { value: x, selected: c ? c.role === x : x === "technical" }, x)))),
      h("p", { class: "form-error", role: "alert" }),
      h("button", { type: "submit" }, c ? "Save" : "Add the contact"),
      c ? h("button", { type: "button", class: "danger", onclick: async () => {
        const rr = await api("DELETE", "/contacts/" + c.id);
        if (!rr.ok) { f.querySelector(".form-error").textContent = rr.error.message; return; }
        contacts(handle);
      } }, "Remove") : null);
    f.addEventListener("submit", async (e) => {
      e.preventDefault();
      f.querySelectorAll("input,select").forEach((el) => fieldError(el, ""));
      const body = { name: f.name.value, email: f.email.value, phone: f.phone.value, role: f.role.value };
      const rr = c ? await api("PATCH", "/contacts/" + c.id, body) : await api("POST", "/contacts", { org: handle, ...body });
      if (!rr.ok) { showApiError(f, rr.error); return; }
      contacts(handle);
    });
    return f;
  };
  page("Contacts of " + o.data.name, ...r.data.items.map(contactForm), h("h2", {}, "Add a contact"), contactForm(null));
}

// ---- the pre-block analysis ----
// What each class means for the member, first the ones to act on.
const CLASSES = [
  ["unregistered-server", "Mail server to register", "It delivers mail like a server and no permit covers it: once port 25 is blocked, its mail stops. Register it."],
  ["suspected-bot", "Possibly infected", "It sends like spamming malware does (many destinations, bursts, refused or unanswered connections): the block stops it; check the machine."],
  ["client-only", "Mail client", "It hands mail to servers on port 25 like a mail program. Mail programs should submit on port 587 to your server: once blocked, port 25 from it stops."],
  ["inbound-server", "Receives mail only", "It accepts mail from outside and sends none on port 25 itself: the outbound block does not affect it."],
  ["permitted", "Permitted", "A permit covers it: its mail goes through."],
  ["unknown", "Too little to judge", "It was seen too little to say what it is."],
];
const CLASS_RANK = Object.fromEntries(CLASSES.map(([c], i) => [c, i]));
const CLASS_NAME = Object.fromEntries(CLASSES.map(([c, n]) => [c, n]));
const CLASS_WORDS = Object.fromEntries(CLASSES.map(([c, , w]) => [c, w]));
const num = (x) => (typeof x === "number" ? x : 0);

// A host's activity hour by hour (UTC) from its first hour: one bar an hour,
// with the first and last hours labelled in the viewer's time.
function hourlyStrip(host) {
  const hr = host.hourly || {}, conns = Array.isArray(hr.connections) ? hr.connections : [];
  const start = hr.start ? new Date(hr.start).getTime() : NaN;
  if (conns.length < 2 || isNaN(start)) return null;
  // At most 24 px an hour: a few hours make a short strip, not a slab.
  const NS = "http://www.w3.org/2000/svg", bw = Math.min(24, 600 / conns.length), W = bw * conns.length, H = 40;
  const max = Math.max(1, ...conns.map(num));
  const svg = document.createElementNS(NS, "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("width", String(Math.round(W)));
  svg.setAttribute("class", "chart strip");
  svg.setAttribute("role", "img");
  const busiest = conns.reduce((b, n, i) => (num(n) > num(conns[b]) ? i : b), 0);
  const hourIso = (i) => new Date(start + i * 3600e3).toISOString().slice(0, 13) + ":00:00Z";
  svg.setAttribute("aria-label", `Port-25 connections per hour over ${conns.length} hours from ${hourIso(0)}; most (${conns[busiest]}) in the hour from ${hourIso(busiest)}`);
  conns.forEach((n, i) => {
    if (!num(n)) return;
    const bh = Math.max(2, Math.round((num(n) / max) * H));
    const r = document.createElementNS(NS, "rect");
    r.setAttribute("x", i * bw); r.setAttribute("y", H - bh); r.setAttribute("width", Math.max(bw - 1, 1)); r.setAttribute("height", bh);
    const t = document.createElementNS(NS, "title");
    t.textContent = `${hourIso(i)}: ${n} connection${n === 1 ? "" : "s"}`;
    r.appendChild(t);
    svg.appendChild(r);
  });
  return h("figure", { class: "timeline-strip" }, svg,
    h("figcaption", { class: "muted" }, "Connections per hour, from ", time(hourIso(0)), " to ", time(hourIso(conns.length - 1)),
      conns.length > 1 ? ["; busiest: ", time(hourIso(busiest)), ` (${conns[busiest]})`] : ""));
}

// The readable timeline of one host: first seen, busiest hour, last seen, the usual hours.
function hostTimeline(host) {
  const items = [];
  if (host.first_seen) items.push(h("li", {}, time(host.first_seen), " first seen"));
  if (host.last_seen && host.last_seen !== host.first_seen) items.push(h("li", {}, time(host.last_seen), " last seen"));
  const hod = Array.isArray(host.hour_of_day) ? host.hour_of_day.map(num) : [];
  const active = hod.map((n, i) => [i, n]).filter(([, n]) => n > 0);
  if (active.length) {
    const top = [...active].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([i]) => String(i).padStart(2, "0") + ":00");
    items.push(h("li", {}, `most active in the hours from ${top.join(", ")} (UTC), ${active.length} of 24 hours with traffic`));
  }
  return h("div", {}, h("ol", { class: "timeline" }, items), hourlyStrip(host));
}

function hostEvidence(host) {
  const o = host.smtp_out || {}, i = host.smtp_in || {}, sub = host.submission || {}, smtp = host.smtp || {};
  const rows = [
    ["Port 25 out", `${num(o.connections)} connections (${num(o.established)} answered, ${num(o.reset)} refused, ${num(o.no_answer)} unanswered) to ${o.distinct_destinations_estimated ? "about " : ""}${num(o.distinct_destinations)} destinations`],
    ["Port 25 in", `${num(i.connections)} connections`],
    ["Submission (465, 587)", `${num(sub.connections)} connections`],
  ];
  if (num(smtp.messages)) rows.push(["Messages", String(smtp.messages)]);
  if (Array.isArray(smtp.helo_names) && smtp.helo_names.length) rows.push(["Names it gave (HELO)", smtp.helo_names.join(", ")]);
  if (smtp.banner) rows.push(["Its banner", String(smtp.banner)]);
  return h("dl", { class: "evidence" }, rows.flatMap(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

export async function analysis(handle) {
  const [r, ar] = await Promise.all([api("GET", "/orgs/" + enc(handle)), api("GET", "/orgs/" + enc(handle) + "/analysis")]);
  if (!r.ok) return failed(r);
  const org = r.data;
  if (!ar.ok && ar.status !== 404) return failed(ar);
  if (!ar.ok) return page("Pre-block analysis of " + org.name, h("p", { class: "card", id: "no-analysis" }, "The operator has not analysed your traffic yet. Ask them to run it before you sign up: it finds the servers you may have missed."));
  const a = ar.data;
  const permitted = new Set(org.permits.filter((p) => p.status !== "expired").map((p) => p.address));
  const pending = new Set(org.open_requests.flatMap((x) => (x.servers || []).map((s) => s.address)));
  // Hosts of an analysis recorded before reports were kept: the servers it named.
  const hosts = a.report.length ? a.report : a.unregistered.map((address) => ({ address, class: "unregistered-server", reasons: ["named by the analysis as a mail server without a permit (recorded before the per-host report was kept)"] }));
  const present = CLASSES.filter(([c]) => hosts.some((x) => x.class === c));

  const filter = h("input", { id: "a-filter", type: "search", placeholder: "address, name or reason" });
  const cls = h("select", { id: "a-class" }, h("option", { value: "" }, "every kind"),
    present.map(([c, name]) => h("option", { value: c }, `${name} (${hosts.filter((x) => x.class === c).length})`)));
  const sort = h("select", { id: "a-sort" },
    h("option", { value: "todo" }, "what to do first"), h("option", { value: "address" }, "address"),
    h("option", { value: "out" }, "most port-25 connections out"), h("option", { value: "last" }, "last seen, newest first"),
    h("option", { value: "first" }, "first seen, oldest first"));
  const list = h("ol", { id: "analysis", class: "hosts" });
  const count = h("p", { id: "a-count", class: "muted", "aria-live": "polite" });
  const addrCmp = (x, y) => x.address.localeCompare(y.address, undefined, { numeric: true });
  const sorts = {
    todo: (x, y) => (CLASS_RANK[x.class] ?? 99) - (CLASS_RANK[y.class] ?? 99) || num(y.smtp_out && y.smtp_out.connections) - num(x.smtp_out && x.smtp_out.connections) || addrCmp(x, y),
    address: addrCmp,
    out: (x, y) => num(y.smtp_out && y.smtp_out.connections) - num(x.smtp_out && x.smtp_out.connections) || addrCmp(x, y),
    last: (x, y) => String(y.last_seen || "").localeCompare(String(x.last_seen || "")) || addrCmp(x, y),
    first: (x, y) => String(x.first_seen || "").localeCompare(String(y.first_seen || "")) || addrCmp(x, y),
  };
  const matches = (x, f) => !f || [x.address, ...(x.reasons || []), ...((x.smtp && x.smtp.helo_names) || [])].some((t) => String(t).toLowerCase().includes(f));

  const action = (x) => {
    if (x.class !== "unregistered-server") return null;
    if (permitted.has(x.address)) return h("p", { class: "badge ok" }, "permitted since the analysis");
    if (pending.has(x.address)) return h("p", { class: "badge" }, "requested, waiting for the operator");
    const b = h("button", { type: "button", "data-variance": x.address, "aria-label": "Request a variance for " + x.address }, "Request a variance for it");
    b.addEventListener("click", async () => {
      const rr = await api("POST", "/requests", { org: handle, type: "add-permit", servers: [{ address: x.address, kind: "mail-server", description: "found by the pre-block analysis" }] });
      if (!rr.ok) { fieldError(b, rr.error.message); return; }
      go("/requests/" + rr.data.id);
    });
    return b;
  };
  const draw = () => {
    clear(list);
    const f = filter.value.trim().toLowerCase();
    const shown = hosts.filter((x) => (!cls.value || x.class === cls.value) && matches(x, f)).sort(sorts[sort.value]);
    count.textContent = `${shown.length} of ${hosts.length} hosts shown.`;
    for (const x of shown) {
      list.appendChild(h("li", { class: "card host " + x.class, "data-address": x.address, "data-class": x.class },
        h("h3", {}, h("span", { class: "addr" }, x.address), " ", h("span", { class: "badge" }, CLASS_NAME[x.class] || x.class),
          typeof x.confidence === "number" && x.class !== "unknown" ? h("span", { class: "muted" }, ` ${x.confidence}% confident`) : null),
        h("p", { class: "meaning" }, CLASS_WORDS[x.class] || ""),
        h("h4", {}, "Why"),
        h("ul", { class: "reasons" }, (x.reasons || []).map((t) => h("li", {}, t))),
        x.smtp_out ? h("details", {}, h("summary", {}, "Evidence"), hostEvidence(x)) : null,
        x.first_seen || x.hourly ? h("details", { open: true }, h("summary", {}, "Timeline"), hostTimeline(x)) : null,
        action(x)));
    }
  };
  filter.addEventListener("input", draw);
  cls.addEventListener("change", draw);
  sort.addEventListener("change", draw);
  draw();

  const events = [[a.at, ["analysis by ", a.actor]],
    ...org.open_requests.map((x) => [x.submitted, [`request ${x.id} submitted (${x.type})`, x.due ? [", due ", time(x.due)] : ", to be scheduled with you"]]),
    ...org.permits.map((p) => [p.created, ["permit for ", p.address]])].sort((p, q2) => String(p[0]).localeCompare(String(q2[0])));
  const toRegister = hosts.filter((x) => x.class === "unregistered-server" && !permitted.has(x.address));
  page("Pre-block analysis of " + org.name,
    h("section", { class: "card" },
      h("p", { id: "analysis-summary" }, "Analysed ", time(a.at), " by ", a.actor, ": ", plural(a.hosts, "host", "hosts"), " spoke SMTP; ",
        toRegister.length ? `${plural(toRegister.length, "looks", "look")} like a mail server with no permit: register ${toRegister.length === 1 ? "it" : "them"} before the block.` : "none looks like a mail server without a permit."),
      h("ol", { class: "timeline" }, events.map(([t, what]) => h("li", {}, time(t), " ", what)))),
    h("section", { class: "card" },
      h("p", { class: "filters" }, h("label", { for: "a-filter" }, "Filter"), filter, h("label", { for: "a-class" }, "Kind"), cls,
        h("label", { for: "a-sort" }, "Sort by"), sort),
      count),
    list);
}
