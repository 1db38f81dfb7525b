#!/bin/bash
# port25 serve under load, on loopback, against nginx serving a static JSON file
# of the same size in the same run (nginx: the upper bound for an HTTP server on
# this machine).  wrk (Debian) runs GET /api/v1/explain?address=... and a
# member's permit listing, each with an API token, at 1, 10 and 100
# connections: requests/s and p50/p99 latency, and the ratio to nginx.  Then
# the memory of an idle connection: the server's RSS with N keep-alive
# connections open (each having made one request) against none.
# Usage: BUILD=build-bench bench/bench_serve.sh  (make bench runs it; needs wrk, nginx-light)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
P=$top/$BUILD/port25
SECS=${BENCH_SECS:-5}
IDLE=${BENCH_IDLE_CONNS:-1000}
for tool in wrk nginx python3 curl; do
	command -v "$tool" >/dev/null || { echo "bench_serve.sh needs $tool (scripts/install-deps.sh bench)" >&2; exit 1; }
done
[ -x "$P" ] || { echo "no $P (make BUILD=$BUILD all)" >&2; exit 1; }

tmp=$(mktemp -d)
srv= ngx=
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null || true
	[ -n "$ngx" ] && kill "$ngx" 2>/dev/null || true
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
export PORT25_DB=$tmp/reg.db PORT25_ACTOR=bench PORT25_CONFIG=$tmp/none.conf
unset PORT25_NOW PORT25_ENFORCE

# a member's organization with 50 permits, and another
"$P" init >/dev/null
"$P" org add k12 --name "K12 Schools" >/dev/null
"$P" prefix add k12 192.0.2.0/24 >/dev/null
"$P" prefix add k12 2001:db8:12::/48 >/dev/null
"$P" contact add k12 --name Sec --email sec@k12.example --role security >/dev/null
for i in $(seq 10 59); do
	"$P" permit add k12 "192.0.2.$i" --kind mail --description "mail server $i" >/dev/null
done
"$P" org set k12 --enrollment active >/dev/null
"$P" org add county --name County >/dev/null
"$P" prefix add county 198.51.100.0/24 >/dev/null
"$P" user add mia --role member --org k12 >/dev/null
tok=$("$P" token add --user mia | grep -o 'p25_[A-Za-z0-9_-]*')

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

"$P" serve --listen 127.0.0.1:0 2>"$tmp/serve.log" &
srv=$!
for _ in $(seq 200); do grep -q 'listening on' "$tmp/serve.log" && break; sleep 0.05; done
port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$tmp/serve.log" | grep -o '[0-9]*$')
api=http://127.0.0.1:$port/api/v1
threads=$(grep -o '([0-9]* threads' "$tmp/serve.log" | grep -o '[0-9]*')

explain_path="/explain?address=192.0.2.25"
permits_path="/permits?org=k12"
curl -sf -H "Authorization: Bearer $tok" "$api$explain_path" >"$tmp/explain.json"
curl -sf -H "Authorization: Bearer $tok" "$api$permits_path" >"$tmp/permits.json"

# nginx: the same bodies as static files, as many workers as serve has threads
mkdir -p "$tmp/www" "$tmp/nginx"
cp "$tmp/explain.json" "$tmp/www/explain.json"
cp "$tmp/permits.json" "$tmp/www/permits.json"
nport=$(free_port)
cat >"$tmp/nginx/nginx.conf" <<EOF
worker_processes $threads;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx/error.log;
daemon off;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path $tmp/nginx/body; proxy_temp_path $tmp/nginx/proxy;
	fastcgi_temp_path $tmp/nginx/fcgi; uwsgi_temp_path $tmp/nginx/uwsgi; scgi_temp_path $tmp/nginx/scgi;
	default_type application/json;
	keepalive_requests 1000000;
	server { listen 127.0.0.1:$nport; root $tmp/www; }
}
EOF
nginx -c "$tmp/nginx/nginx.conf" -p "$tmp/nginx" &
ngx=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$nport/explain.json" >/dev/null && break; sleep 0.05; done

# wrk URL CONNS: "requests/s p50_ms p99_ms"
run_wrk() {
	local url=$1 c=$2 t out
	t=$(( c < 2 ? 1 : 2 ))
	out=$(wrk -t"$t" -c"$c" -d"${SECS}s" --latency -H "Authorization: Bearer $tok" "$url")
	awk '
	function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
	/Requests\/sec/ { rps = $2 }
	/^ +50%/ { p50 = ms($2) }
	/^ +99%/ { p99 = ms($2) }
	END { printf "%.0f %.2f %.2f\n", rps, p50, p99 }' <<<"$out"
}

echo "port25 serve ($threads threads) vs nginx ($threads workers), loopback, wrk ${SECS}s a run, API token on every request"
echo "explain body $(wc -c <"$tmp/explain.json") bytes; member's permit listing (50 permits) $(wc -c <"$tmp/permits.json") bytes"
echo
printf '| %-26s | %5s | %10s | %9s | %9s | %10s | %9s | %9s | %9s |\n' request conns "serve r/s" "p50 ms" "p99 ms" "nginx r/s" "p50 ms" "p99 ms" "of nginx"
printf '|%s|\n' "----------------------------|-------|------------|-----------|-----------|------------|-----------|-----------|-----------"
for what in explain permits; do
	if [ $what = explain ]; then path=$explain_path; else path=$permits_path; fi
	for c in 1 10 100; do
		read -r s_rps s_p50 s_p99 < <(run_wrk "$api$path" "$c")
		read -r n_rps n_p50 n_p99 < <(run_wrk "http://127.0.0.1:$nport/$what.json" "$c")
		printf '| %-26s | %5s | %10s | %9s | %9s | %10s | %9s | %9s | %8s%% |\n' "GET $path" "$c" "$s_rps" "$s_p50" "$s_p99" \
			"$n_rps" "$n_p50" "$n_p99" "$(awk -v a="$s_rps" -v b="$n_rps" 'BEGIN { printf "%.0f", b ? 100 * a / b : 0 }')"
	done
done

# memory per idle connection: RSS with IDLE keep-alive connections open, each after one request
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
before=$(rss "$srv")
python3 - "$port" "$IDLE" "$tok" "$srv" >"$tmp/idle.out" <<'EOF'
import socket, sys, time
port, n, tok, pid = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
req = ("GET /api/v1/session HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n\r\n" % tok).encode()
socks = []
for i in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(req)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    socks.append(s)
time.sleep(1)
rss = [l for l in open("/proc/%s/status" % pid) if l.startswith("VmRSS")][0].split()[1]
print(rss)
for s in socks:
    s.close()
EOF
after=$(cat "$tmp/idle.out")
echo
echo "idle connections: RSS $before kB with none, $after kB with $IDLE open (each after one request): $(( (after - before) * 1024 / IDLE )) bytes a connection"
kill -TERM "$srv"
wait "$srv" 2>/dev/null || true
srv=
