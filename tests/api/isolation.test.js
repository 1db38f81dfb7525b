'use strict';
// The isolation matrix: every endpoint x method x role (operator, member of A, member
// of B, auditor, anonymous, read-only token, expired token, revoked token), on
// objects of A and of B, against the status each must get; then no answer to the
// member of A holds a handle, address, contact, user or object of B.  Every answer
// is checked against the OpenAPI document, and every operation of it is exercised.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const { Server, bearer, seen, DOC, DOC_PATH } = require('./lib');

const S = new Server('iso');
const A = 'orgalfa';
const B = 'orgbravo';
const T = {};
const fixed = { [A]: {}, [B]: {} };
// What the member of A was told, with what they asked: for the leak check.
const toAlice = [];
// B's own words: none may reach the member of A.
const B_SECRETS = ['orgbravo', 'Bravo County', '198.51.100.', '2001:db8:b0b0', 'Brenda Bravo',
  'brenda@bravo.example', 'bruno.bravo', 'bravo mx', 'bravo-only', '198.51.100.66'];

const ROLES = ['operator', 'memberA', 'memberB', 'auditor', 'anonymous', 'readonly', 'expired', 'revoked'];
const ROLE_ORG = { memberA: A, memberB: B };

function sqlite(db, sql) {
  require('node:child_process').execFileSync('sqlite3', [db, sql]);
}

before(async () => {
  const c = (...a) => S.cli(a);
  c('init');
  c('org', 'add', A, '--name', 'Alfa Schools');
  c('org', 'add', B, '--name', 'Bravo County');
  c('prefix', 'add', A, '192.0.2.0/25');
  c('prefix', 'add', A, '2001:db8:a1fa::/48');
  c('prefix', 'add', B, '198.51.100.0/24');
  c('prefix', 'add', B, '2001:db8:b0b0::/48');
  c('contact', 'add', A, '--name', 'Ada Alfa', '--email', 'ada@alfa.example', '--role', 'security');
  c('contact', 'add', B, '--name', 'Brenda Bravo', '--email', 'brenda@bravo.example', '--role', 'security');
  c('permit', 'add', A, '192.0.2.25', '--kind', 'mail', '--description', 'alfa mx');
  c('permit', 'add', B, '198.51.100.25', '--kind', 'mail', '--description', 'bravo mx');
  c('permit', 'add', B, '2001:db8:b0b0::25', '--kind', 'mail', '--description', 'bravo mx');
  c('org', 'set', A, '--enrollment', 'active');
  c('org', 'set', B, '--enrollment', 'active');
  c('request', 'submit', A, '--type', 'add-permit', '--server', '192.0.2.26', '--note', 'alfa-only');
  c('request', 'submit', B, '--type', 'add-permit', '--server', '198.51.100.26', '--note', 'bravo-only');
  S.user('oscar', 'operator');
  S.user('alice', 'member', [A]);
  S.user('bruno.bravo', 'member', [B]);
  S.user('audrey', 'auditor');
  T.operator = S.token(['--user', 'oscar']);
  T.memberA = S.token(['--user', 'alice']);
  T.memberB = S.token(['--user', 'bruno.bravo']);
  T.auditor = S.token(['--user', 'audrey']);
  T.readonly = S.token(['--user', 'oscar', '--read-only']);
  // issued in the past with an expiry in the past: expired now
  T.expired = S.token(['--user', 'alice', '--expires', '2020-01-02'], { PORT25_NOW: '2020-01-01T00:00:00Z' });
  T.revoked = S.token(['--user', 'alice', '--description', 'to revoke']);
  const listed = JSON.parse(S.cli(['--json', 'token', 'list']));
  S.cli(['token', 'revoke', String(listed.find((t) => t.description === 'to revoke').id)]);
  // what port25 watch would have written: an alert and a host summary of each org
  for (const [org, host] of [[A, '192.0.2.66'], [B, '198.51.100.66']]) {
    sqlite(S.env.PORT25_DB, `INSERT INTO alert (kind, host, direction, org, status, raised, updated, evidence) VALUES ('infected', '${host}', 'out', '${org}', 'open', '2026-11-20T10:00:00Z', '2026-11-20T10:00:00Z', '{"reason":"fan-out"}')`);
    sqlite(S.env.PORT25_DB, `INSERT INTO host_summary (host, direction, family, org, attempts, packets, destinations, first_seen, last_seen, updated) VALUES ('${host}', 'out', 4, '${org}', 120, 130, 60, '2026-11-20T10:00:00Z', '2026-11-20T11:00:00Z', '2026-11-20T11:00:00Z')`);
    // and its attempts per day: today's and yesterday's (UTC)
    for (const [ago, n] of [[0, org === A ? 7 : 4242], [1, org === A ? 5 : 4343]])
      sqlite(S.env.PORT25_DB, `INSERT INTO attempts_daily (org_id, day, direction, attempts) SELECT id, date('now', '-${ago} day'), 'out', ${n} FROM org WHERE handle = '${org}'`);
    // and what port25 analyze recorded of it: its unregistered server, with the report per host
    const mx = org === A ? '192.0.2.77' : '198.51.100.77';
    const report = JSON.stringify([{ address: mx, organization: org, class: 'unregistered-server', reasons: [`accepts SMTP, banner '${org === A ? 'alfa' : 'bravo'} mx'`], first_seen: '2026-11-20T10:00:00Z', last_seen: '2026-11-20T11:00:00Z' }]);
    sqlite(S.env.PORT25_DB, `INSERT INTO analysis (org_id, at, actor, hosts, unregistered, report) SELECT id, '2026-11-21T10:00:00Z', 'oscar', 1, '["${mx}"]', '${report.replace(/'/g, "''")}' FROM org WHERE handle = '${org}'`);
  }
  await S.start();
  // the fixed objects of each org, as the operator sees them
  for (const org of [A, B]) {
    const get = async (p) => (await S.call('GET', p, { headers: bearer(T.operator) })).json.items;
    fixed[org].prefix = (await get(`/api/v1/prefixes?org=${org}`))[0].prefix;
    fixed[org].contact = (await get(`/api/v1/contacts?org=${org}`))[0].id;
    fixed[org].permit = (await get(`/api/v1/permits?org=${org}`))[0].id;
    fixed[org].request = (await get(`/api/v1/requests?org=${org}`))[0].id;
    fixed[org].alert = (await get(`/api/v1/alerts?org=${org}`))[0].id;
    fixed[org].address = org === A ? '192.0.2.25' : '198.51.100.25';
    fixed[org].member = org === A ? 'alice' : 'bruno.bravo';
  }
});

after(async () => {
  const r = await S.stop();
  S.cleanup();
  assert.equal(r.code, 0, `serve did not stop cleanly on SIGTERM: ${JSON.stringify(r)}\n${S.log}`);
});

// ---- fresh objects for the writes that consume them (made by the operator) ----
let serial = 0;
async function op(method, p, body) {
  const r = await S.call(method, p, { headers: bearer(T.operator), body });
  assert.ok(r.status < 300, `setup ${method} ${p}: ${r.status} ${r.text}`);
  return r.json;
}
const v6 = (org) => `${org === A ? '2001:db8:a1fa' : '2001:db8:b0b0'}::${(0x1000 + ++serial).toString(16)}`;
const freshPrefix = () => `2001:db8:${(0x4000 + ++serial).toString(16)}::/48`;
const fresh = {
  org: async () => {
    const handle = `gone${++serial}`;
    await op('POST', '/api/v1/orgs', { handle, name: 'Gone' });
    await op('POST', '/api/v1/prefixes', { org: handle, prefix: freshPrefix() });
    return handle;
  },
  prefix: async (org) => (await op('POST', '/api/v1/prefixes', { org, prefix: freshPrefix() })).prefix,
  contact: async (org) => (await op('POST', '/api/v1/contacts', { org, name: `Fresh ${org}`, email: `fresh@${org}.example` })).id,
  permit: async (org) => (await op('POST', '/api/v1/permits', { org, address: v6(org), kind: 'mail', description: `${org} fresh` })).id,
  request: async (org, upto) => {
    const id = (await op('POST', '/api/v1/requests', { org, type: 'add-permit', servers: [{ address: v6(org), description: 'x' }] })).id;
    for (const step of ['approve', 'apply']) {
      if (upto === 'submitted' || (upto === 'approved' && step === 'apply')) break;
      await op('POST', `/api/v1/requests/${id}/${step}`);
    }
    return id;
  },
  user: async (org) => (await op('POST', '/api/v1/users', { name: `fresh${++serial}`, role: 'member', orgs: [org] })).name,
  token: async (user) => (await op('POST', '/api/v1/tokens', { user })).id,
};

// ---- what each role must get ----
const INVALID = new Set(['anonymous', 'expired', 'revoked']);
function base(role) {
  if (INVALID.has(role)) return 401;
  return null;
}
// a read of one object of org
const readOne = (role, own) => base(role) ?? (ROLE_ORG[role] && !own ? 404 : 200);
// a listing (scoped, never refused)
const readList = (role) => base(role) ?? 200;
// the operator's write: ok for the operator, 403 for everyone else
const opWrite = (ok) => (role) => base(role) ?? (role === 'operator' ? ok : 403);
// a member's write for their own org (and the operator's)
const memberWrite = (ok) => (role, own) => base(role) ?? (role === 'operator' || (ROLE_ORG[role] && own) ? ok : 403);

// [method, path(org, ctx), body(org, ctx), expect(role, own), prepare(org) -> ctx]
const MATRIX = [
  ['GET', () => '/api/v1/orgs', null, readList],
  ['POST', () => `/api/v1/orgs`, () => ({ handle: `new${++serial}`, name: 'New' }), opWrite(201)],
  ['GET', (o) => `/api/v1/orgs/${o}`, null, readOne],
  ['PATCH', (o) => `/api/v1/orgs/${o}`, () => ({ mode: 'outbound' }), opWrite(200)],
  // refused for the operator too: the org has prefixes and permits (no force)
  ['DELETE', (o) => `/api/v1/orgs/${o}`, null, opWrite(409)],
  // an org of no member's: the operator removes it (with force, its prefix too)
  ['DELETE', (o, h) => `/api/v1/orgs/${h}?force=true`, null, opWrite(204), fresh.org],
  ['GET', (o) => `/api/v1/prefixes?org=${o}`, null, readOne],
  ['GET', (o) => `/api/v1/prefixes/${fixed[o].prefix}`, null, readOne],
  ['POST', () => '/api/v1/prefixes', (o) => ({ org: o, prefix: freshPrefix() }), opWrite(201)],
  // refused for the operator too: permits lie inside it
  ['DELETE', (o) => `/api/v1/prefixes/${fixed[o].prefix}`, null, opWrite(409)],
  ['DELETE', (o, p) => `/api/v1/prefixes/${p}`, null, opWrite(204), fresh.prefix],
  ['GET', (o) => `/api/v1/contacts?org=${o}`, null, readOne],
  ['GET', (o) => `/api/v1/contacts/${fixed[o].contact}`, null, readOne],
  ['POST', () => '/api/v1/contacts', (o) => ({ org: o, name: 'Added', email: `added@${o}.example`, role: 'technical' }), memberWrite(201)],
  ['PATCH', (o, id) => `/api/v1/contacts/${id}`, () => ({ phone: '+1 555 0100', role: 'administrative' }), memberWrite(200), fresh.contact],
  ['DELETE', (o, id) => `/api/v1/contacts/${id}`, null, memberWrite(204), fresh.contact],
  ['GET', (o) => `/api/v1/permits?org=${o}`, null, readOne],
  ['GET', (o) => `/api/v1/permits/${fixed[o].permit}`, null, readOne],
  ['POST', () => '/api/v1/permits', (o) => ({ org: o, address: v6(o), kind: 'app', description: 'api' }), opWrite(201)],
  ['PATCH', (o) => `/api/v1/permits/${fixed[o].permit}`, () => ({ expires: null }), opWrite(200)],
  ['DELETE', (o, id) => `/api/v1/permits/${id}`, null, opWrite(204), fresh.permit],
  ['GET', (o) => `/api/v1/requests?org=${o}`, null, readOne],
  ['GET', (o) => `/api/v1/requests/${fixed[o].request}`, null, readOne],
  ['POST', () => '/api/v1/requests', (o) => ({ org: o, type: 'add-permit', servers: [{ address: v6(o), kind: 'mail-server', description: 'new mx', expires: '30d' }] }), memberWrite(201)],
  ['POST', (o, id) => `/api/v1/requests/${id}/approve`, null, opWrite(200), (o) => fresh.request(o, 'submitted')],
  ['POST', (o, id) => `/api/v1/requests/${id}/reject`, () => ({ reason: 'no' }), opWrite(200), (o) => fresh.request(o, 'submitted')],
  ['POST', (o, id) => `/api/v1/requests/${id}/apply`, () => ({}), opWrite(200), (o) => fresh.request(o, 'approved')],
  ['POST', (o, id) => `/api/v1/requests/${id}/verify`, null, opWrite(200), (o) => fresh.request(o, 'applied')],
  ['POST', (o, id) => `/api/v1/requests/${id}/cancel`, null, memberWrite(200), (o) => fresh.request(o, 'submitted')],
  // explain: another's space is refused (403), not looked up
  ['GET', (o) => `/api/v1/explain?address=${fixed[o].address}`, null, (role, own) => base(role) ?? (ROLE_ORG[role] && !own ? 403 : 200)],
  ['GET', (o) => `/api/v1/alerts?org=${o}`, null, readOne],
  ['GET', (o) => `/api/v1/alerts/${fixed[o].alert}`, null, readOne],
  ['GET', () => '/api/v1/alerts', null, readList],
  ['GET', (o) => `/api/v1/hosts?org=${o}`, null, readOne],
  ['GET', () => '/api/v1/hosts', null, readList],
  ['GET', (o) => `/api/v1/orgs/${o}/attempts`, null, readOne],
  ['GET', (o) => `/api/v1/orgs/${o}/attempts?days=7`, null, readOne],
  ['GET', (o) => `/api/v1/orgs/${o}/analysis`, null, readOne],
  ['GET', () => '/api/v1/audit', null, readList],
  ['GET', () => '/api/v1/session', null, readList],
  ['GET', () => '/api/v1/users', null, readList],
  ['GET', (o) => `/api/v1/users/${fixed[o].member}`, null, (role, own) => base(role) ?? (ROLE_ORG[role] && !own ? 404 : 200)],
  ['POST', () => '/api/v1/users', () => ({ name: `made${++serial}`, role: 'auditor' }), opWrite(201)],
  // one's own e-mail: anyone's own (the read-only token changes nothing)
  ['PATCH', (o) => `/api/v1/users/${fixed[o].member}`, () => ({ email: 'changed@example.org' }), memberWrite(200)],
  ['DELETE', (o, name) => `/api/v1/users/${name}`, null, opWrite(204), fresh.user],
  ['GET', () => '/api/v1/tokens', null, readList],
  ['GET', (o, id) => `/api/v1/tokens/${id}`, null, readOne, (o) => fresh.token(fixed[o].member)],
  // a token for oneself: anyone may (not a read-only credential)
  ['POST', () => '/api/v1/tokens', () => ({ description: 'mine', read_only: true }), (role) => base(role) ?? (role === 'readonly' ? 403 : 201)],
  // a token for the org's member: the operator, or the member themselves
  ['POST', () => '/api/v1/tokens', (o) => ({ user: fixed[o].member, expires: '30d', allowed_sources: ['127.0.0.0/8', '::1/128'] }), memberWrite(201)],
  ['DELETE', (o, id) => `/api/v1/tokens/${id}`, null, memberWrite(204), (o) => fresh.token(fixed[o].member)],
];

test('the isolation matrix: every endpoint x method x role x own/other org', async () => {
  const failures = [];
  let cells = 0;
  for (const [method, pathOf, bodyOf, expect, prepare] of MATRIX) {
    for (const org of [A, B]) {
      for (const role of ROLES) {
        const ctx = prepare ? await prepare(org) : undefined;
        const target = pathOf(org, ctx);
        const body = bodyOf ? bodyOf(org, ctx) : undefined;
        const own = ROLE_ORG[role] === org;
        const want = expect(role, own);
        const res = await S.call(method, target, { headers: bearer(T[role]), body });
        cells++;
        if (res.status !== want)
          failures.push(`${role.padEnd(9)} ${method} ${target} (${own ? 'own' : 'other'}): ${res.status}, want ${want}: ${res.text.slice(0, 200)}`);
        if (role === 'memberA') toAlice.push({ method, target, body, text: res.text, json: res.json });
      }
    }
  }
  assert.deepEqual(failures, [], `${failures.length} of ${cells} cells wrong:\n${failures.join('\n')}`);
});

// Strings of the request itself: echoed in a message ("no organization 'orgbravo'"), they tell nothing.
function requestStrings(r) {
  const out = [];
  const u = new URL(r.target, 'http://x');
  for (const s of u.pathname.split('/')) if (s) out.push(decodeURIComponent(s));
  for (const [, v] of u.searchParams) out.push(v);
  const walk = (v) => {
    if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(r.body);
  return out.filter((s) => s.length > 2).sort((a, b) => b.length - a.length);
}

test('no answer to the member of A holds anything of B', () => {
  assert.ok(toAlice.length >= 2 * MATRIX.length, 'the matrix ran');
  const leaks = [];
  for (const r of toAlice) {
    let text = r.text;
    for (const s of requestStrings(r)) text = text.split(s).join('');
    for (const secret of B_SECRETS) if (text.includes(secret)) leaks.push(`${r.method} ${r.target}: '${secret}' in ${r.text.slice(0, 300)}`);
    // every object of an organization in the answer is A's
    const walk = (v, where) => {
      if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${where}[${i}]`));
      else if (v && typeof v === 'object') {
        if (typeof v.org === 'string' && v.org !== A && !requestStrings(r).includes(v.org))
          leaks.push(`${r.method} ${r.target}: ${where}.org is '${v.org}'`);
        if (typeof v.handle === 'string' && v.handle !== A && !requestStrings(r).includes(v.handle) && where.includes('organization'))
          leaks.push(`${r.method} ${r.target}: ${where}.handle is '${v.handle}'`);
        for (const [k, x] of Object.entries(v)) walk(x, `${where}.${k}`);
      }
    };
    walk(r.json, '$');
  }
  assert.deepEqual(leaks, [], leaks.join('\n'));
});

test("B's objects, by id, are not found by the member of A; A's by the member of B alike", async () => {
  for (const [who, other] of [['memberA', B], ['memberB', A]]) {
    for (const p of [`/api/v1/contacts/${fixed[other].contact}`, `/api/v1/permits/${fixed[other].permit}`,
      `/api/v1/requests/${fixed[other].request}`, `/api/v1/alerts/${fixed[other].alert}`]) {
      const r = await S.call('GET', p, { headers: bearer(T[who]) });
      assert.equal(r.status, 404, `${who} GET ${p}: ${r.text}`);
      // the same answer as for an id that does not exist
      const none = await S.call('GET', p.replace(/\d+$/, '99999'), { headers: bearer(T[who]) });
      assert.equal(r.json.error.message.replace(/\d+/g, 'N'), none.json.error.message.replace(/\d+/g, 'N'));
    }
  }
});

test("an org's attempts per day: its own, zero-filled up to today (UTC); another's not found", async () => {
  const day = (ago) => new Date(Date.now() - ago * 86400e3).toISOString().slice(0, 10);
  const r = await S.call('GET', `/api/v1/orgs/${A}/attempts`, { headers: bearer(T.memberA) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.days.length, 30);
  assert.equal(r.json.to, day(0));
  assert.equal(r.json.from, day(29));
  assert.deepEqual(r.json.days.at(-1), { day: day(0), attempts: 7, out: 7, in: 0 });
  assert.deepEqual(r.json.days.at(-2), { day: day(1), attempts: 5, out: 5, in: 0 });
  assert.equal(r.json.days.slice(0, -2).reduce((n, d) => n + d.attempts, 0), 0);
  const week = await S.call('GET', `/api/v1/orgs/${A}/attempts?days=1`, { headers: bearer(T.memberA) });
  assert.deepEqual(week.json.days.map((d) => d.day), [day(0)]);
  for (const bad of ['0', '367', 'x', '']) {
    const b = await S.call('GET', `/api/v1/orgs/${A}/attempts?days=${bad}`, { headers: bearer(T.memberA) });
    assert.equal(b.status, 400, `days=${bad}: ${b.text}`);
    assert.equal(b.json.error.field, 'days');
  }
  // B's as the member of A: the answer of an org that does not exist, and none of B's counts
  const other = await S.call('GET', `/api/v1/orgs/${B}/attempts`, { headers: bearer(T.memberA) });
  const none = await S.call('GET', '/api/v1/orgs/nosuchorg/attempts', { headers: bearer(T.memberA) });
  assert.equal(other.status, 404);
  assert.equal(other.json.error.message.replace(B, 'X'), none.json.error.message.replace('nosuchorg', 'X'));
  assert.ok(!other.text.includes('4242'));
});

test("an org's latest analysis with its report per host: its own only", async () => {
  const r = await S.call('GET', `/api/v1/orgs/${A}/analysis`, { headers: bearer(T.memberA) });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json.unregistered, ['192.0.2.77']);
  assert.equal(r.json.report.length, 1);
  assert.equal(r.json.report[0].class, 'unregistered-server');
  assert.match(r.json.report[0].reasons[0], /alfa mx/);
  const other = await S.call('GET', `/api/v1/orgs/${B}/analysis`, { headers: bearer(T.memberA) });
  const none = await S.call('GET', '/api/v1/orgs/nosuchorg/analysis', { headers: bearer(T.memberA) });
  assert.equal(other.status, 404);
  assert.equal(other.json.error.message.replace(B, 'X'), none.json.error.message.replace('nosuchorg', 'X'));
  assert.ok(!other.text.includes('198.51.100.77'));
  // an org of one's own never analysed: not found, saying so
  const fresh = await op('POST', '/api/v1/orgs', { handle: 'unanalysed', name: 'Never analysed' });
  assert.equal(fresh.handle, 'unanalysed');
  const never = await S.call('GET', '/api/v1/orgs/unanalysed/analysis', { headers: bearer(T.operator) });
  assert.equal(never.status, 404);
  assert.match(never.json.error.message, /no analysis of organization 'unanalysed'/);
});

test('the served OpenAPI document is docs/openapi.json, and every operation was exercised', async () => {
  const r = await S.call('GET', '/api/v1/openapi.json');
  assert.equal(r.status, 200);
  assert.deepEqual(r.json, JSON.parse(fs.readFileSync(DOC_PATH, 'utf8')));
  const missing = [];
  for (const [p, item] of Object.entries(DOC.paths)) {
    for (const m of ['get', 'post', 'patch', 'delete']) {
      if (!item[m] || ['/api/v1/login', '/api/v1/logout'].includes(p)) continue; // auth.test.js
      const s = seen.get(`${m.toUpperCase()} ${p}`);
      if (!s || ![...s].some((x) => x < 300)) missing.push(`${m.toUpperCase()} ${p}`);
    }
  }
  assert.deepEqual(missing, [], `operations never answered with success: ${missing.join(', ')}`);
});
