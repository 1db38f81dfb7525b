'use strict';
// Shared by the API tests: a registry and a real `port25 serve` on a loopback port
// picked free at run time (the server binds port 0 and logs the port), a real HTTP
// client, and every answer checked against the OpenAPI document's schema for it.
const { spawn, execFileSync } = require('node:child_process');
const http = require('node:http');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const Ajv2020 = require('ajv/dist/2020');
const addFormats = require('ajv-formats');

const ROOT = path.resolve(__dirname, '../..');
const PORT25 = process.env.PORT25 || path.join(ROOT, 'build/port25');
const DOC_PATH = path.join(ROOT, 'docs/openapi.json');
const DOC = JSON.parse(fs.readFileSync(DOC_PATH, 'utf8'));
// Sanitizer builds start and answer slower: bounded waits, generous.
const START_TIMEOUT_MS = 20000;

// ---- the schemas of the document, compiled once ----
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: 'openapi.json', components: DOC.components });
const compiled = new Map();
function validatorFor(ref) {
  if (!compiled.has(ref)) compiled.set(ref, ajv.compile({ $ref: 'openapi.json' + ref.slice(ref.indexOf('#')) }));
  return compiled.get(ref);
}

const routes = Object.keys(DOC.paths).map((p) => ({
  template: p,
  re: new RegExp('^' + p.replace(/[.]/g, '\\.').replace(/\{[^}]+\}/g, '[^/]+') + '$'),
}));

// Which operations and statuses were seen: every operation must be exercised.
const seen = new Map();

function operationOf(method, target) {
  const p = target.split('?')[0];
  const r = routes.find((x) => x.re.test(p));
  if (!r) return null;
  const op = DOC.paths[r.template][method.toLowerCase()];
  return op ? { template: r.template, op } : null;
}

// Check one answer of the API against the document; throws with what is wrong.
function checkSchema(method, target, res) {
  const found = operationOf(method, target);
  if (!found) throw new Error(`${method} ${target}: no operation in the OpenAPI document (status ${res.status})`);
  const key = `${method.toUpperCase()} ${found.template}`;
  if (!seen.has(key)) seen.set(key, new Set());
  seen.get(key).add(res.status);
  if (res.status === 304) {
    if (res.text.length) throw new Error(`${key}: 304 with a body`);
    return;
  }
  let spec = found.op.responses[String(res.status)];
  if (!spec && res.status >= 400) spec = found.op.responses.default;
  if (!spec) throw new Error(`${key}: status ${res.status} is not documented: ${res.text.slice(0, 300)}`);
  if (spec.$ref) spec = DOC.components.responses[spec.$ref.split('/').pop()];
  const content = spec.content && spec.content['application/json'];
  if (!content) {
    if (res.text.length) throw new Error(`${key} ${res.status}: documented without a body, got ${res.text.slice(0, 200)}`);
    return;
  }
  if (!/^application\/json/.test(res.headers['content-type'] || ''))
    throw new Error(`${key} ${res.status}: Content-Type ${res.headers['content-type']}`);
  const schema = content.schema;
  let validate;
  if (schema.$ref) validate = validatorFor(schema.$ref);
  else validate = ajv.compile(schema);
  if (!validate(res.json)) {
    throw new Error(`${key} ${res.status}: the body does not match its schema: ` +
      ajv.errorsText(validate.errors) + `\n${res.text.slice(0, 600)}`);
  }
}

// ---- HTTP ----
function request(base, method, target, opts = {}) {
  const u = new URL(base);
  const headers = { ...(opts.headers || {}) };
  let body = null;
  if (opts.raw !== undefined) body = Buffer.isBuffer(opts.raw) ? opts.raw : Buffer.from(opts.raw);
  else if (opts.body !== undefined) {
    body = Buffer.from(JSON.stringify(opts.body));
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) headers['Content-Type'] = 'application/json';
  }
  if (body && !opts.chunked) headers['Content-Length'] = body.length;
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: u.hostname, port: u.port, method, path: target, headers,
      localAddress: opts.localAddress, agent: false,
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = text.length ? JSON.parse(text) : undefined; } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, text, json });
      });
      res.on('error', reject);
    });
    req.setTimeout(30000, () => req.destroy(new Error(`${method} ${target}: no answer in 30 s`)));
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

// ---- a registry and a server ----
class Server {
  constructor(name) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), `p25api-${name}-`));
    this.env = { ...process.env, PORT25_DB: path.join(this.dir, 'reg.db'), PORT25_ACTOR: 'setup',
      PORT25_CONFIG: path.join(this.dir, 'port25.conf') };
    delete this.env.PORT25_NOW;
    delete this.env.PORT25_ENFORCE;
    this.log = '';
  }

  cli(args, opts = {}) {
    return execFileSync(PORT25, args, { env: { ...this.env, ...(opts.env || {}) }, input: opts.input, encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'] });
  }

  // The secret of a new token (port25 token add ARGS).
  token(args, env) {
    const out = this.cli(['token', 'add', ...args], { env });
    const m = out.match(/p25_[A-Za-z0-9_-]+/);
    if (!m) throw new Error(`token add ${args.join(' ')}: ${out}`);
    return m[0];
  }

  user(name, role, orgs = [], password = 'correct horse battery staple') {
    const args = ['user', 'add', name, '--role', role, '--password-stdin'];
    for (const o of orgs) args.push('--org', o);
    this.cli(args, { input: password + '\n' });
  }

  async start(args = []) {
    this.proc = spawn(PORT25, ['serve', '--listen', '127.0.0.1:0', ...args], { env: this.env, stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr.setEncoding('utf8');
    this.proc.stderr.on('data', (d) => { this.log += d; });
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve({ code, sig })));
    const t0 = Date.now();
    while (!/listening on http:\/\/127\.0\.0\.1:(\d+)/.test(this.log)) {
      if (this.proc.exitCode !== null) throw new Error(`port25 serve exited: ${this.log}`);
      if (Date.now() - t0 > START_TIMEOUT_MS) throw new Error(`port25 serve did not start: ${this.log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    this.port = Number(this.log.match(/listening on http:\/\/127\.0\.0\.1:(\d+)/)[1]);
    this.base = `http://127.0.0.1:${this.port}`;
  }

  // An API call, its answer checked against the document (opts.unchecked: not an API answer).
  async call(method, target, opts = {}) {
    const res = await request(this.base, method, target, opts);
    if (!opts.unchecked) checkSchema(method, target, res);
    return res;
  }

  async stop() {
    if (!this.proc || this.proc.exitCode !== null) return this.proc ? { code: this.proc.exitCode } : null;
    this.proc.kill('SIGTERM');
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 10000);
    const r = await this.exited;
    clearTimeout(t);
    return r;
  }

  cleanup() {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function bearer(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

module.exports = { ROOT, PORT25, DOC, DOC_PATH, Server, request, bearer, checkSchema, seen };
