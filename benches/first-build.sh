#!/usr/bin/env bash
# The newcomer's wait, measured: a clean `cargo run --release -- --sandbox listen` until its
# stderr says Ready, in a new target folder (crates already fetched: `cargo fetch` first, or
# point CARGO_HOME at an empty folder to count the download too). Prints the seconds.
set -u
cd "$(dirname "$0")/.."
target=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$target" "$log"' EXIT
start=$(date +%s.%N)
CARGO_TARGET_DIR="$target" cargo run --release --locked -- --sandbox listen >/dev/null 2>"$log" &
pid=$!
until grep -q '^Ready' "$log"; do
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "cer ended before Ready:" >&2
    tail "$log" >&2
    exit 1
  fi
  sleep 0.2
done
end=$(date +%s.%N)
kill -INT "$pid"
wait "$pid"
grep 'Finished' "$log"
python3 -c "print('clean cargo run --release to Ready: %.1f s' % ($end - $start))"
