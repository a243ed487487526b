#!/usr/bin/env bash
# scripts/fuzz.sh [seconds] — runs every fuzz target of the module, one after
# another, for that long each (default 5), and prints the execs per target.
# Fails if any target fails; a failing input is written to the package's
# testdata/fuzz/<Target>/ by go test (a reproducer to commit with its fix).
# FUZZ_FLAGS adds go test flags (e.g. FUZZ_FLAGS="-parallel 1").
# No Vault needed: every target is in a pure package.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$here"
secs="${1:-5}"
[[ "$secs" =~ ^[0-9]+$ ]] || { echo "usage: scripts/fuzz.sh [seconds]" >&2; exit 2; }

# "./pkg/file_test.go:12:func FuzzName(f *testing.F) {" → "pkg FuzzName";
# tools/ holds other modules.
mapfile -t targets < <(grep -rn --include='*_test.go' '^func Fuzz' . | grep -v '^\./tools/' |
	sed -E 's|^\./(.*)/[^/]+_test\.go:[0-9]+:func (Fuzz[A-Za-z0-9_]*)\(.*|\1 \2|' | sort)
[[ ${#targets[@]} -gt 0 ]] || { echo "fuzz: no fuzz targets found" >&2; exit 1; }

log="$(mktemp)"
trap 'rm -f "$log"' EXIT
failed=()
start=$SECONDS
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	status=FAIL
	for attempt in 1 2; do
		# shellcheck disable=SC2086 # FUZZ_FLAGS is a list of flags
		if go test -run '^$' -fuzz "^${name}\$" -fuzztime "${secs}s" -fuzzminimizetime 1s ${FUZZ_FLAGS:-} "./$pkg" >"$log" 2>&1; then
			status=ok
			break
		fi
		# Go's fuzzer can report "context deadline exceeded" when -fuzztime
		# ends while it minimizes a new input: no failing input, no failure
		# of the target. Run once more; a real failure writes its input.
		if grep -q 'Failing input written' "$log" || ! grep -q 'context deadline exceeded' "$log"; then
			break
		fi
		echo "fuzz: $pkg $name: the fuzzer's deadline ran out while minimizing (no failing input); running it again"
	done
	[[ $status == ok ]] || failed+=("$pkg $name")
	execs="$( (grep -oE 'execs: [0-9]+' "$log" || true) | tail -1 | cut -d' ' -f2)" # none: the time went on the cached corpus
	printf 'fuzz: %-12s %-20s %4s  %s execs in %ss\n' "$pkg" "$name" "$status" "${execs:-?}" "$secs"
	if [[ $status == FAIL ]]; then
		grep -vE '^fuzz: elapsed' "$log" | sed 's/^/    /'
	fi
done
echo "fuzz: ${#targets[@]} targets in $((SECONDS - start))s"
if [[ ${#failed[@]} -gt 0 ]]; then
	printf 'fuzz: FAILED: %s\n' "${failed[@]}" >&2
	exit 1
fi
