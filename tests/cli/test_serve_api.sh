#!/bin/bash
# port25 serve's HTTP API with a real server on a loopback port picked free at run
# time and a real HTTP client (Node's test runner, tests/api/*.test.js): the
# isolation matrix, authentication attacks, the API's conventions; every answer
# checked against docs/openapi.json, which a real validator
# (@apidevtools/swagger-parser, pinned in tests/api/package-lock.json) validates.
# Run by make test with the plain build and again with the ASan build ($PORT25).
set -euo pipefail
: "${PORT25:?set PORT25 to the port25 binary}"
top=$(cd "$(dirname "$0")/../.." && pwd)
command -v node >/dev/null || { echo "FAIL: test_serve_api.sh needs node (scripts/install-deps.sh)" >&2; exit 1; }
[ -d "$top/tests/api/node_modules/@apidevtools/swagger-parser" ] ||
	{ echo "FAIL: tests/api/node_modules missing (make node-deps runs npm ci)" >&2; exit 1; }
cd "$top/tests/api"
# One file after another (each starts servers of its own); Node 18's runner and later alike.
rc=0
for f in ./*.test.js; do
	echo "== $f"
	PORT25=$PORT25 node --test "$f" || rc=1
done
exit $rc
