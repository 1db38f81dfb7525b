# Sourced by the CLI tests: count failures, check a command's exit code and
# output, and end with a verdict.  tests/run.sh runs tests/cli/test_*.sh only.
#
#   fail MESSAGE             count a failure and say it on stderr
#   expect CODE REGEX CMD... CMD exits with CODE and its output (stdout and
#                            stderr) matches the extended REGEX (empty: any)
#   ok / refused / usage REGEX CMD...   expect 0 / 1 / 2
#   finish VERDICT           exit 1 after "N failure(s)", else say VERDICT

failures=0

fail() {
	echo "FAIL: $*" >&2
	failures=$((failures + 1))
}

expect() {
	local code=$1 pattern=$2 out rc=0
	shift 2
	out=$("$@" 2>&1) || rc=$?
	if [ "$rc" -ne "$code" ]; then
		fail "exit $rc, wanted $code: $*"$'\n'"$out"
	elif [ -n "$pattern" ] && ! grep -qE -- "$pattern" <<<"$out"; then
		fail "output of '$*' lacks /$pattern/:"$'\n'"$out"
	fi
}
ok() { expect 0 "$@"; }
refused() { expect 1 "$@"; }
usage() { expect 2 "$@"; }

finish() {
	if [ "$failures" -gt 0 ]; then
		echo "$failures failure(s)" >&2
		exit 1
	fi
	echo "$1"
}
