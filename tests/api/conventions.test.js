'use strict';
// The API's conventions on a real server: the OpenAPI document validated by a real
// validator; pagination; ETags on listings (If-None-Match) and If-Match on updates;
// errors with a code and the field; 404 and 405; a member's own work end to end
// (a sign-up from the CSV form, a variance, contacts, cancelling, explain).
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const SwaggerParser = require('@apidevtools/swagger-parser');
const { Server, bearer, DOC_PATH } = require('./lib');

const S = new Server('conv');
const T = {};

before(async () => {
  S.cli(['init']);
  S.cli(['org', 'add', 'k12', '--name', 'K12']);
  S.cli(['prefix', 'add', 'k12', '192.0.2.0/24']);
  S.cli(['prefix', 'add', 'k12', '2001:db8:12::/48']);
  S.cli(['org', 'add', 'county', '--name', 'County']);
  S.cli(['prefix', 'add', 'county', '198.51.100.0/24']);
  S.user('oscar', 'operator');
  S.user('mia', 'member', ['k12']);
  T.op = S.token(['--user', 'oscar']);
  T.mia = S.token(['--user', 'mia']);
  await S.start();
});

after(async () => {
  const r = await S.stop();
  S.cleanup();
  assert.equal(r.code, 0, S.log);
});

const as = (who) => ({ headers: bearer(T[who]) });

test('the OpenAPI document is valid OpenAPI 3.1 (swagger-parser)', async () => {
  const api = await SwaggerParser.validate(DOC_PATH);
  assert.equal(api.openapi, '3.1.0');
  assert.ok(Object.keys(api.paths).length >= 25);
});

test('listings are paginated: limit, offset, total', async () => {
  for (let i = 0; i < 5; i++)
    assert.equal((await S.call('POST', '/api/v1/contacts', { ...as('op'), body: { org: 'k12', name: `C${i}`, email: `c${i}@k12.example` } })).status, 201);
  const all = await S.call('GET', '/api/v1/contacts?org=k12', as('op'));
  assert.equal(all.json.total, 5);
  const page = await S.call('GET', '/api/v1/contacts?org=k12&limit=2&offset=3', as('op'));
  assert.deepEqual(page.json.items.map((c) => c.name), ['C3', 'C4']);
  assert.deepEqual([page.json.total, page.json.limit, page.json.offset], [5, 2, 3]);
  const past = await S.call('GET', '/api/v1/contacts?org=k12&offset=10', as('op'));
  assert.deepEqual(past.json.items, []);
  for (const bad of ['limit=0', 'limit=1001', 'offset=-1', 'limit=two']) {
    const r = await S.call('GET', `/api/v1/contacts?${bad}`, as('op'));
    assert.equal(r.status, 400, bad);
    assert.equal(r.json.error.field, bad.split('=')[0]);
  }
});

test('ETags: a listing unchanged is 304; changed, a new ETag', async () => {
  const first = await S.call('GET', '/api/v1/permits', as('op'));
  const etag = first.headers.etag;
  assert.match(etag, /^"[0-9a-f]{32}"$/);
  const same = await S.call('GET', '/api/v1/permits', { headers: { ...bearer(T.op), 'If-None-Match': etag } });
  assert.equal(same.status, 304);
  assert.equal(same.headers.etag, etag);
  await S.call('POST', '/api/v1/permits', { ...as('op'), body: { org: 'k12', address: '192.0.2.25', kind: 'mail', description: 'mx' } });
  const changed = await S.call('GET', '/api/v1/permits', { headers: { ...bearer(T.op), 'If-None-Match': etag } });
  assert.equal(changed.status, 200);
  assert.notEqual(changed.headers.etag, etag);
});

test('If-Match: an update from a stale read is refused (412), from the current one it goes through', async () => {
  const p = (await S.call('POST', '/api/v1/permits', { ...as('op'), body: { org: 'k12', address: '192.0.2.26', kind: 'mail', description: 'mx2', expires: '30d' } })).json;
  const read = await S.call('GET', `/api/v1/permits/${p.id}`, as('op'));
  const etag = read.headers.etag;
  // someone else changes it in between
  assert.equal((await S.call('PATCH', `/api/v1/permits/${p.id}`, { ...as('op'), body: { expires: '60d' } })).status, 200);
  const stale = await S.call('PATCH', `/api/v1/permits/${p.id}`, { headers: { ...bearer(T.op), 'If-Match': etag }, body: { expires: null } });
  assert.equal(stale.status, 412);
  assert.equal(stale.json.error.code, 'precondition_failed');
  assert.equal(stale.json.error.field, 'If-Match');
  const fresh = await S.call('GET', `/api/v1/permits/${p.id}`, as('op'));
  const ok = await S.call('PATCH', `/api/v1/permits/${p.id}`, { headers: { ...bearer(T.op), 'If-Match': fresh.headers.etag }, body: { expires: null } });
  assert.equal(ok.status, 200);
  assert.equal(ok.json.expires, null);
  const del = await S.call('DELETE', `/api/v1/permits/${p.id}`, { headers: { ...bearer(T.op), 'If-Match': fresh.headers.etag } });
  assert.equal(del.status, 412);
  assert.equal((await S.call('DELETE', `/api/v1/permits/${p.id}`, { headers: { ...bearer(T.op), 'If-Match': '*' } })).status, 204);
});

test('unknown resources are 404, wrong methods 405 with Allow', async () => {
  let r = await S.call('GET', '/api/v1/nothing', { ...as('op'), unchecked: true });
  assert.equal(r.status, 404);
  assert.equal(r.json.error.code, 'not_found');
  r = await S.call('GET', '/index.html', { ...as('op'), unchecked: true });
  assert.equal(r.status, 404);
  r = await S.call('PUT', '/api/v1/orgs', { ...as('op'), body: {}, unchecked: true });
  assert.equal(r.status, 405);
  assert.equal(r.headers.allow, 'GET, POST');
  r = await S.call('GET', '/api/v1/permits/abc', as('op'));
  assert.equal(r.status, 404);
});

test("a member's work: a sign-up from the CSV form, a variance, contacts, cancelling, explain", async () => {
  const csv = 'address,kind,description,expires\n192.0.2.30,mail,main mx,\n2001:db8:12::30,app,"Relay, north wing",2030-12-31\n';
  let r = await S.call('POST', '/api/v1/requests', { ...as('mia'), body: { org: 'k12', type: 'signup', servers_csv: csv, note: 'our servers' } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.requested_by, 'mia');
  assert.deepEqual(r.json.servers.map((s) => [s.address, s.kind, s.description]),
    [['192.0.2.30', 'mail-server', 'main mx'], ['2001:db8:12::30', 'application-server', 'Relay, north wing']]);
  // A sign-up is scheduled with the member, not held to the 48 hours of a variance (issue 14).
  assert.equal(r.json.due, null, 'a sign-up has no due time');
  assert.equal(r.json.hours_left, null);
  assert.equal(r.json.overdue, false);
  assert.match(r.headers.location, /^\/api\/v1\/requests\/\d+$/);
  const signup = r.json.id;
  r = await S.call('POST', '/api/v1/requests', { ...as('mia'), body: { org: 'k12', type: 'signup', servers_csv: 'address,kind\n192.0.2.31,toaster\n' } });
  assert.equal(r.status, 422);
  assert.equal(r.json.error.field, 'servers_csv');
  assert.match(r.json.error.message, /line 2/);
  // in someone else's name: refused
  r = await S.call('POST', '/api/v1/requests', { ...as('mia'), body: { org: 'k12', type: 'add-permit', requested_by: 'oscar', servers: [{ address: '192.0.2.40' }] } });
  assert.equal(r.status, 403);
  r = await S.call('POST', '/api/v1/requests', { ...as('mia'), body: { org: 'k12', type: 'add-permit', servers: [{ address: '192.0.2.40', description: 'temporary', expires: '14d' }] } });
  assert.equal(r.status, 201);
  assert.ok([47, 48].includes(r.json.hours_left), 'a variance is due in 48 hours');
  const variance = r.json.id;
  assert.equal((await S.call('POST', `/api/v1/requests/${variance}/cancel`, as('mia'))).json.status, 'cancelled');
  assert.equal((await S.call('POST', `/api/v1/requests/${variance}/cancel`, as('mia'))).status, 409);
  assert.equal((await S.call('POST', `/api/v1/requests/${signup}/approve`, as('mia'))).status, 403);
  r = await S.call('POST', `/api/v1/requests/${signup}/apply`, as('op'));
  assert.equal(r.status, 409, 'apply before approval');
  assert.equal((await S.call('POST', `/api/v1/requests/${signup}/approve`, as('op'))).status, 200);
  r = await S.call('POST', '/api/v1/contacts', { ...as('mia'), body: { org: 'k12', name: 'Tech', email: 'tech@k12.example', role: 'technical' } });
  assert.equal(r.status, 201);
  assert.equal(r.json.role, 'technical');
  r = await S.call('POST', `/api/v1/requests/${signup}/apply`, as('op'));
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'applied');
  // the org is enrolled and the servers are permitted: explain says so, IPv4 and IPv6
  for (const a of ['192.0.2.30', '2001:db8:12::30']) {
    r = await S.call('GET', `/api/v1/explain?address=${encodeURIComponent(a)}`, as('mia'));
    assert.equal(r.status, 200);
    assert.equal(r.json.outbound.verdict, 'permit', a);
  }
  r = await S.call('GET', '/api/v1/explain?address=192.0.2.77', as('mia'));
  assert.equal(r.json.outbound.verdict, 'block');
  r = await S.call('GET', '/api/v1/explain?address=198.51.100.7', as('mia'));
  assert.equal(r.status, 403);
  r = await S.call('GET', '/api/v1/explain?address=192.0.2.300', as('mia'));
  assert.deepEqual([r.status, r.json.error.field], [400, 'address']);
  r = await S.call('GET', '/api/v1/explain', as('mia'));
  assert.deepEqual([r.status, r.json.error.field], [400, 'address']);
  // her own contact edited in place: the last security contact of her active org keeps its role
  const sec = (await S.call('GET', '/api/v1/contacts?org=k12', as('mia'))).json.items.filter((c) => c.role === 'security');
  for (const c of sec.slice(1)) assert.equal((await S.call('PATCH', `/api/v1/contacts/${c.id}`, { ...as('mia'), body: { role: 'technical' } })).status, 200);
  r = await S.call('PATCH', `/api/v1/contacts/${sec[0].id}`, { ...as('mia'), body: { role: 'technical' } });
  assert.equal(r.status, 409, r.text);
  r = await S.call('PATCH', `/api/v1/contacts/${sec[0].id}`, { ...as('mia'), body: { name: 'Security Desk', email: 'desk@k12.example', phone: '+1 555 0199' } });
  assert.deepEqual([r.status, r.json.name, r.json.email, r.json.role], [200, 'Security Desk', 'desk@k12.example', 'security']);
  r = await S.call('PATCH', `/api/v1/contacts/${sec[0].id}`, { ...as('mia'), body: { email: 'not an address' } });
  assert.equal(r.status, 422);
  // her own contact removed; the audit log tells her organization's story, in her name
  const mine = (await S.call('GET', '/api/v1/contacts?org=k12', as('mia'))).json.items.find((c) => c.name === 'C1');
  assert.equal((await S.call('DELETE', `/api/v1/contacts/${mine.id}`, as('mia'))).status, 204);
  const audit = (await S.call('GET', '/api/v1/audit', as('mia'))).json.items;
  assert.ok(audit.some((a) => a.action === 'contact.remove' && a.actor === 'mia'));
  assert.ok(audit.some((a) => a.action === 'contact.set' && a.actor === 'mia' && a.after.name === 'Security Desk'));
  assert.ok(audit.every((a) => !JSON.stringify(a).includes('county')));
});

test('a warning of the registry comes back in X-Port25-Warning', async () => {
  const r = await S.call('POST', '/api/v1/prefixes', { ...as('op'), body: { org: 'county', prefix: '203.0.113.9/24', normalize: true } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.prefix, '203.0.113.0/24');
  assert.match(r.headers['x-port25-warning'] || '', /203\.0\.113/);
  const no = await S.call('POST', '/api/v1/prefixes', { ...as('op'), body: { org: 'county', prefix: '203.0.114.9/24' } });
  assert.equal(no.status, 422);
});
