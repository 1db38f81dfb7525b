'use strict';
// Attacks on authentication, each against a real server: wrong passwords (audited),
// brute force (the limits hold, per account and per source), a session cookie
// without its CSRF token, a session stolen after logout, a token used from an
// address outside its allowed list, the proxy's user header (and X-Forwarded-For)
// from an address that is not the proxy, oversized and malformed bodies.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { Server, bearer } = require('./lib');

const S = new Server('auth');
const T = {};
const PW = 'correct horse battery staple';

before(async () => {
  S.cli(['init']);
  S.cli(['org', 'add', 'orgalfa', '--name', 'Alfa']);
  S.cli(['prefix', 'add', 'orgalfa', '192.0.2.0/24']);
  S.user('oscar', 'operator');
  S.user('alice', 'member', ['orgalfa']);
  S.user('victim', 'member', ['orgalfa']);
  S.user('bob', 'member', ['orgalfa']);
  T.operator = S.token(['--user', 'oscar']);
  T.bound = S.token(['--user', 'alice', '--allow', '127.0.0.1/32', '--allow', '::1/128']);
  await S.start(['--trusted-proxies', '127.0.0.1/32', '--proxy-user-header', 'X-Remote-User']);
});

after(async () => {
  const r = await S.stop();
  S.cleanup();
  assert.equal(r.code, 0, S.log);
});

const login = (name, password, opts = {}) => S.call('POST', '/api/v1/login', { body: { name, password }, ...opts });
function cookieOf(res) {
  const sc = [].concat(res.headers['set-cookie'] || []);
  const m = sc.join('\n').match(/__Host-port25_session=([^;]*)/);
  return m ? m[1] : null;
}

test('a wrong password is refused, with one answer for every failure, and audited with its source', async () => {
  const r = await login('alice', 'not the password');
  assert.equal(r.status, 401);
  assert.equal(r.json.error.code, 'unauthorized');
  const nobody = await login('no-such-user', 'not the password');
  assert.equal(nobody.status, 401);
  assert.equal(nobody.json.error.message, r.json.error.message, 'the answer tells which names exist');
  const audit = await S.call('GET', '/api/v1/audit?limit=1000', { headers: bearer(T.operator) });
  const failed = audit.json.items.filter((a) => a.action === 'login.failed' && a.object === 'alice');
  assert.equal(failed.length, 1);
  assert.equal(failed[0].after.source, '127.0.0.1');
  assert.equal(failed[0].after.result, 'wrong password');
});

test('brute force: the limit per account holds, even for the right password; per source too', async () => {
  for (let i = 0; i < 5; i++) assert.equal((await login('victim', `guess ${i} guess`)).status, 401);
  const r = await login('victim', PW);
  assert.equal(r.status, 429);
  assert.equal(r.json.error.code, 'rate_limited');
  assert.ok(Number(r.headers['retry-after']) > 0, 'Retry-After');
  // another account from the same address is not locked by it
  assert.equal((await login('bob', PW)).status, 200);
  // 20 failures from one address, whatever the names: that address is locked
  for (let i = 0; i < 20; i++) assert.equal((await login(`x${i}`, 'wrong password', { localAddress: '127.0.0.3' })).status, 401);
  assert.equal((await login('oscar', PW, { localAddress: '127.0.0.3' })).status, 429);
  assert.equal((await login('oscar', PW, { localAddress: '127.0.0.4' })).status, 200);
});

test('a session cookie: __Host-, HttpOnly, Secure, SameSite=Strict; changes need the CSRF token', async () => {
  const r = await login('alice', PW);
  assert.equal(r.status, 200);
  const sc = [].concat(r.headers['set-cookie']).join(';');
  assert.match(sc, /^__Host-port25_session=/);
  for (const attr of [/; ?Secure/i, /; ?HttpOnly/i, /; ?SameSite=Strict/i, /; ?Path=\//]) assert.match(sc, attr);
  assert.doesNotMatch(sc, /Domain=/i);
  const cookie = `__Host-port25_session=${cookieOf(r)}`;
  const csrf = r.json.csrf_token;
  assert.equal(r.json.user, 'alice');
  // reads need no token
  assert.equal((await S.call('GET', '/api/v1/session', { headers: { Cookie: cookie } })).json.csrf_token, csrf);
  const body = { org: 'orgalfa', name: 'Via Cookie', email: 'cookie@alfa.example' };
  let w = await S.call('POST', '/api/v1/contacts', { headers: { Cookie: cookie }, body });
  assert.equal(w.status, 403);
  assert.equal(w.json.error.code, 'csrf');
  w = await S.call('POST', '/api/v1/contacts', { headers: { Cookie: cookie, 'X-CSRF-Token': csrf + 'x' }, body });
  assert.equal(w.status, 403);
  w = await S.call('POST', '/api/v1/contacts', { headers: { Cookie: cookie, 'X-CSRF-Token': csrf }, body });
  assert.equal(w.status, 201);
  // a form post from another site cannot send JSON
  w = await S.call('POST', '/api/v1/contacts', { headers: { Cookie: cookie, 'X-CSRF-Token': csrf, 'Content-Type': 'application/x-www-form-urlencoded' }, raw: 'org=orgalfa&name=x&email=y' });
  assert.equal(w.status, 415);
});

test('a session stolen after logout is worth nothing', async () => {
  const r = await login('alice', PW);
  const cookie = `__Host-port25_session=${cookieOf(r)}`;
  const out = await S.call('POST', '/api/v1/logout', { headers: { Cookie: cookie, 'X-CSRF-Token': r.json.csrf_token } });
  assert.equal(out.status, 204);
  assert.match([].concat(out.headers['set-cookie']).join(';'), /Max-Age=0/);
  const again = await S.call('GET', '/api/v1/session', { headers: { Cookie: cookie } });
  assert.equal(again.status, 401);
  // logout with a token: there is no session to end
  assert.equal((await S.call('POST', '/api/v1/logout', { headers: bearer(T.operator) })).status, 422);
  // logout without the CSRF token is refused like any change
  const r2 = await login('alice', PW);
  const c2 = `__Host-port25_session=${cookieOf(r2)}`;
  assert.equal((await S.call('POST', '/api/v1/logout', { headers: { Cookie: c2 } })).status, 403);
  assert.equal((await S.call('GET', '/api/v1/session', { headers: { Cookie: c2 } })).status, 200);
});

test('a token bound to 127.0.0.1 is refused from 127.0.0.2, and X-Forwarded-For counts only from the proxy', async () => {
  const ok = await S.call('GET', '/api/v1/session', { headers: bearer(T.bound), localAddress: '127.0.0.1' });
  assert.equal(ok.status, 200);
  const no = await S.call('GET', '/api/v1/session', { headers: bearer(T.bound), localAddress: '127.0.0.2' });
  assert.equal(no.status, 403);
  assert.equal(no.json.error.code, 'source_not_allowed');
  assert.match(no.json.error.message, /127\.0\.0\.2/);
  // from 127.0.0.2 (not a proxy) claiming to forward for 127.0.0.1: still 127.0.0.2
  const spoof = await S.call('GET', '/api/v1/session', { headers: { ...bearer(T.bound), 'X-Forwarded-For': '127.0.0.1' }, localAddress: '127.0.0.2' });
  assert.equal(spoof.status, 403);
  // from the proxy, forwarding a client outside the list: refused for that client
  const fwd = await S.call('GET', '/api/v1/session', { headers: { ...bearer(T.bound), 'X-Forwarded-For': '203.0.113.9' }, localAddress: '127.0.0.1' });
  assert.equal(fwd.status, 403);
  assert.match(fwd.json.error.message, /203\.0\.113\.9/);
});

test("the proxy's user header: honoured from the proxy, an attack from anywhere else", async () => {
  const forged = await S.call('GET', '/api/v1/session', { headers: { 'X-Remote-User': 'oscar' }, localAddress: '127.0.0.2' });
  assert.equal(forged.status, 401);
  assert.match(forged.json.error.message, /trusted proxies/);
  const w0 = await S.call('POST', '/api/v1/orgs', { headers: { 'X-Remote-User': 'oscar' }, localAddress: '127.0.0.2', body: { handle: 'forged', name: 'F' } });
  assert.equal(w0.status, 401);
  const viaProxy = await S.call('GET', '/api/v1/session', { headers: { 'X-Remote-User': 'oscar' }, localAddress: '127.0.0.1' });
  assert.equal(viaProxy.status, 200);
  assert.equal(viaProxy.json.user, 'oscar');
  assert.equal(viaProxy.json.method, 'proxy');
  for (const bad of ['nobody', 'oscar, alice', '-oscar']) {
    const r = await S.call('GET', '/api/v1/session', { headers: { 'X-Remote-User': bad }, localAddress: '127.0.0.1' });
    assert.equal(r.status, 401, bad);
  }
  // a change through the proxy needs the CSRF token too (its own session cookie rides along)
  const body = { handle: 'viaproxy', name: 'Via Proxy' };
  assert.equal((await S.call('POST', '/api/v1/orgs', { headers: { 'X-Remote-User': 'oscar' }, body })).status, 403);
  const w = await S.call('POST', '/api/v1/orgs', { headers: { 'X-Remote-User': 'oscar', 'X-CSRF-Token': viaProxy.json.csrf_token }, body });
  assert.equal(w.status, 201);
  const audit = await S.call('GET', '/api/v1/audit?limit=5', { headers: bearer(T.operator) });
  assert.ok(audit.json.items.some((a) => a.action === 'org.add' && a.object === 'viaproxy' && a.actor === 'oscar'), 'audited under the user name');
});

test('oversized bodies: 413 whether announced or chunked, and the server goes on', async () => {
  const big = JSON.stringify({ org: 'orgalfa', name: 'x'.repeat(70 * 1024), email: 'a@b.example' });
  let r = await S.call('POST', '/api/v1/contacts', { headers: bearer(T.operator), raw: big, ...{ headers: { ...bearer(T.operator), 'Content-Type': 'application/json' } } });
  assert.equal(r.status, 413);
  assert.equal(r.json.error.code, 'payload_too_large');
  r = await S.call('POST', '/api/v1/contacts', { headers: { ...bearer(T.operator), 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }, raw: big, chunked: true });
  assert.equal(r.status, 413);
  // a head larger than its limit: refused by the HTTP layer before the API
  r = await S.call('GET', '/api/v1/session', { headers: { ...bearer(T.operator), 'X-Filler': 'y'.repeat(20000) }, unchecked: true });
  assert.ok(r.status === 431 || r.status === 413 || r.status === 400, `oversized head: ${r.status}`);
  assert.equal((await S.call('GET', '/api/v1/session', { headers: bearer(T.operator) })).status, 200);
});

test('malformed bodies and targets: each refused with its status, code and field', async () => {
  const h = { ...bearer(T.operator), 'Content-Type': 'application/json' };
  const post = (raw, headers = h, p = '/api/v1/contacts') => S.call('POST', p, { headers, raw });
  let r = await post('{"org": "orgalfa", "name": ');
  assert.deepEqual([r.status, r.json.error.code], [400, 'malformed']);
  r = await post('[1, 2]');
  assert.deepEqual([r.status, r.json.error.code], [400, 'malformed']);
  r = await post('{"org": "orgalfa", "org": "other", "name": "n", "email": "e@x.example"}');
  assert.deepEqual([r.status, r.json.error.code], [400, 'malformed']);
  r = await post(Buffer.from([0x7b, 0x22, 0x6f, 0x72, 0x67, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]));
  assert.deepEqual([r.status, r.json.error.code], [400, 'malformed']);
  r = await post('{"org": "orgalfa"}', { ...bearer(T.operator), 'Content-Type': 'text/plain' });
  assert.deepEqual([r.status, r.json.error.code, r.json.error.field], [415, 'unsupported_media_type', 'Content-Type']);
  r = await post('{"org": "orgalfa", "name": "n", "email": "e@x.example", "bogus": 1}');
  assert.deepEqual([r.status, r.json.error.code, r.json.error.field], [422, 'invalid', 'bogus']);
  r = await post('{"org": "orgalfa", "name": 5, "email": "e@x.example"}');
  assert.deepEqual([r.status, r.json.error.field], [422, 'name']);
  assert.match(r.json.error.message, /^name: /);
  r = await post('{"org": "orgalfa", "name": "n"}');
  assert.deepEqual([r.status, r.json.error.field], [422, 'email']);
  r = await post('{"org": "orgalfa", "type": "add-permit", "servers": [{"address": "192.0.2.9", "kind": "toaster"}]}', h, '/api/v1/requests');
  assert.deepEqual([r.status, r.json.error.field], [422, 'servers[0].kind']);
  r = await post('{"org": "orgalfa", "type": "add-permit", "servers": [{"address": "192.0.2.9", "expires": "soon"}]}', h, '/api/v1/requests');
  assert.deepEqual([r.status, r.json.error.field], [422, 'servers[0].expires']);
  for (const bad of ['/api/v1/contacts/%zz', '/api/v1/orgs/a%00b', '/api/v1/permits?org=%']) {
    r = await S.call('GET', bad, { headers: bearer(T.operator) });
    assert.equal(r.status, 400, bad);
  }
  r = await S.call('GET', '/api/v1/permits?limit=1&limit=2', { headers: bearer(T.operator) });
  assert.deepEqual([r.status, r.json.error.field], [400, 'limit']);
  r = await S.call('GET', '/api/v1/permits?color=red', { headers: bearer(T.operator) });
  assert.deepEqual([r.status, r.json.error.field], [400, 'color']);
});

test('a token revoked or its user disabled is refused at once, though just used', async () => {
  const viaCli = S.token(['--user', 'bob', '--description', 'cli-revoked']);
  for (let i = 0; i < 3; i++) assert.equal((await S.call('GET', '/api/v1/session', { headers: bearer(viaCli) })).status, 200);
  const id = JSON.parse(S.cli(['--json', 'token', 'list', '--user', 'bob'])).find((t) => t.description === 'cli-revoked').id;
  S.cli(['token', 'revoke', String(id)]);
  assert.equal((await S.call('GET', '/api/v1/session', { headers: bearer(viaCli) })).status, 401);
  const viaApi = (await S.call('POST', '/api/v1/tokens', { headers: bearer(T.operator), body: { user: 'bob' } })).json;
  for (let i = 0; i < 3; i++) assert.equal((await S.call('GET', '/api/v1/session', { headers: bearer(viaApi.token) })).status, 200);
  assert.equal((await S.call('DELETE', `/api/v1/tokens/${viaApi.id}`, { headers: bearer(T.operator) })).status, 204);
  assert.equal((await S.call('GET', '/api/v1/session', { headers: bearer(viaApi.token) })).status, 401);
  const again = (await S.call('POST', '/api/v1/tokens', { headers: bearer(T.operator), body: { user: 'bob' } })).json;
  assert.equal((await S.call('GET', '/api/v1/session', { headers: bearer(again.token) })).status, 200);
  assert.equal((await S.call('PATCH', '/api/v1/users/bob', { headers: bearer(T.operator), body: { disabled: true } })).status, 200);
  assert.equal((await S.call('GET', '/api/v1/session', { headers: bearer(again.token) })).status, 401);
});
