// The portal's helpers: DOM building (text only: no registry value is ever
// parsed as HTML), the API client, times, and address checks for the forms.

// h("p", {class: "x"}, "text", child): an element; strings become text nodes.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  add(el, children);
  return el;
}

function add(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) add(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

// ---- the API ----
let csrf = null;
export function setCsrf(token) { csrf = token; }

// {ok, status, data, error}: error is the API's error object ({code, message, field}).
export async function api(method, path, body) {
  const opts = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (body !== undefined) {
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  if (method !== "GET" && csrf) opts.headers["X-CSRF-Token"] = csrf;
  let res;
  try {
    res = await fetch("/api/v1" + path, opts);
  } catch (e) {
    return { ok: false, status: 0, error: { code: "network", message: "the server cannot be reached", field: null } };
  }
  let data = null;
  if (res.status !== 204) {
    try { data = await res.json(); } catch (e) { data = null; }
  }
  if (res.ok) return { ok: true, status: res.status, data };
  return { ok: false, status: res.status, error: (data && data.error) || { code: "http", message: "HTTP " + res.status, field: null } };
}

export function q(params) {
  const s = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") s.set(k, v);
  const t = s.toString();
  return t ? "?" + t : "";
}

// ---- times: the viewer's zone, UTC on hover ----
export function time(iso) {
  if (!iso) return h("span", {}, "never");
  const d = new Date(iso);
  if (isNaN(d)) return h("span", {}, iso);
  return h("time", { datetime: iso, title: d.toISOString().replace(".000Z", "Z") + " (UTC)" },
    d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }));
}

// "1 d 4 h 3 min 2 s left" / "overdue by ..."
export function countdown(dueIso, now = Date.now()) {
  let ms = new Date(dueIso).getTime() - now;
  const late = ms < 0;
  ms = Math.abs(ms);
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400), hr = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const parts = (d ? d + " d " : "") + hr + " h " + String(m).padStart(2, "0") + " min " + String(sec).padStart(2, "0") + " s";
  return late ? "overdue by " + parts : parts + " left";
}

// A <span> that keeps counting down to due until it leaves the page.
export function liveCountdown(dueIso) {
  const el = h("span", { class: "countdown", "data-due": dueIso, role: "timer" });
  const tick = () => {
    if (!el.isConnected && el.dataset.started) { clearInterval(id); return; }
    el.dataset.started = "1";
    el.textContent = countdown(dueIso);
    el.classList.toggle("late", new Date(dueIso).getTime() < Date.now());
  };
  const id = setInterval(tick, 1000);
  tick();
  return el;
}

// ---- addresses ----
// {family: 4|6, bytes: Uint8Array, len} or null
export function parsePrefix(text) {
  const t = String(text).trim();
  const slash = t.indexOf("/");
  const addr = slash < 0 ? t : t.slice(0, slash);
  const lenText = slash < 0 ? null : t.slice(slash + 1);
  let bytes, family;
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) {
    const p = addr.split(".").map(Number);
    if (p.some((x) => x > 255)) return null;
    bytes = Uint8Array.from(p);
    family = 4;
  } else if (addr.includes(":")) {
    bytes = parseV6(addr);
    if (!bytes) return null;
    family = 6;
  } else return null;
  const max = family === 4 ? 32 : 128;
  let len = max;
  if (lenText !== null) {
    if (!/^\d{1,3}$/.test(lenText)) return null;
    len = Number(lenText);
    if (len > max) return null;
  }
  return { family, bytes, len };
}

function parseV6(s) {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return null;
  const dbl = s.split("::");
  if (dbl.length > 2) return null;
  const groups = (x) => (x === "" ? [] : x.split(":"));
  let head = groups(dbl[0]), tail = dbl.length === 2 ? groups(dbl[1]) : [];
  const words = [];
  const conv = (list) => {
    const out = [];
    for (let i = 0; i < list.length; i++) {
      const g = list[i];
      if (g.includes(".")) {
        if (i !== list.length - 1) return null;
        const v4 = parsePrefix(g);
        if (!v4 || v4.family !== 4 || v4.len !== 32) return null;
        out.push((v4.bytes[0] << 8) | v4.bytes[1], (v4.bytes[2] << 8) | v4.bytes[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return null;
        out.push(parseInt(g, 16));
      }
    }
    return out;
  };
  head = conv(head); tail = conv(tail);
  if (!head || !tail) return null;
  if (dbl.length === 1) { if (head.length !== 8) return null; words.push(...head); }
  else {
    const fill = 8 - head.length - tail.length;
    if (fill < 1) return null;
    words.push(...head, ...new Array(fill).fill(0), ...tail);
  }
  const b = new Uint8Array(16);
  words.forEach((w, i) => { b[2 * i] = w >> 8; b[2 * i + 1] = w & 255; });
  return b;
}

// Is prefix inner inside prefix outer?
export function within(inner, outer) {
  if (inner.family !== outer.family || inner.len < outer.len) return false;
  for (let bit = 0; bit < outer.len; bit++) {
    const m = 0x80 >> (bit % 8), i = bit >> 3;
    if ((inner.bytes[i] & m) !== (outer.bytes[i] & m)) return false;
  }
  return true;
}

export function hostBitsSet(p) {
  for (let bit = p.len; bit < p.bytes.length * 8; bit++)
    if (p.bytes[bit >> 3] & (0x80 >> (bit % 8))) return true;
  return false;
}

export function prefixKey(p) {
  return p.family + ":" + Array.from(p.bytes).join(".") + "/" + p.len;
}
