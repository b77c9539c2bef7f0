# Shell functions shared by the HTTP load benchmarks (bench/serving, bench/monitoring_overhead).
# The sourcing script sets: python (the interpreter), tmp (its scratch folder), duration
# (wrk's -d) and bench_name (the prefix of its messages).

load_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# serving_data CACHE CUSTOMERS: the serving benchmark's model, request bodies and features
# (bench/serving/make_model.py, fixed seed) in CACHE, made again when the generator or
# the customer count changed.
serving_data() {
  local cache="$1" customers="$2" generator="$load_lib_dir/../serving/make_model.py" stamp
  stamp="$(sha256sum <"$generator" | cut -c1-16) customers=$customers"
  if [[ "$(cat "$cache/stamp" 2>/dev/null)" != "$stamp" ]]; then
    rm -rf "$cache.tmp.$$"
    "$python" "$generator" "$cache.tmp.$$" --customers "$customers"
    echo "$stamp" >"$cache.tmp.$$/stamp"
    rm -rf "$cache"
    mv "$cache.tmp.$$" "$cache"
  fi
}

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
# Waits until URL answers 200 (at most 30 s); fails naming the server and its log.
wait_for_ready() {
  local url="$1" name="$2" log="$3"
  for _ in $(seq 300); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)" == 200 ]] && return 0
    sleep 0.1
  done
  echo "$bench_name: $name is not ready ($url) after 30 s; its log:" >&2
  tail -n 30 "$log" >&2
  exit 1
}
peak_rss_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# A process and all its descendants.
process_tree() {
  local child
  echo "$1"
  for child in $(pgrep -P "$1" || true); do process_tree "$child"; done
}
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
median() {
  sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
col() { awk -v c="$1" '{ print $c }' "$2" | median; }
ratio() { awk -v a="$1" -v b="$2" '{ printf "%.4f\n", ($b > 0 ? $a / $b : 0) }' "$3" | median; }

# wrk_run LABEL CONNECTIONS URL [SCRIPT [ENV=VALUE...]]: one wrk run; prints
# "REQUESTS_PER_SECOND P99_MS". Errors in wrk's report are printed and counted.
wrk_run() {
  local label="$1" conns="$2" url="$3" script="${4:-}" out
  local args=(-t1 -c"$conns" -d"$duration" --latency)
  [[ -n "$script" ]] && args+=(-s "$script")
  out="$(env "${@:5}" timeout 600 wrk "${args[@]}" "$url" 2>&1 || true)"
  if ! grep -q "Requests/sec:" <<<"$out" || grep -q "Non-2xx\|Socket errors" <<<"$out"; then
    {
      echo "$bench_name: !!! ERRORS in wrk against $label ($url, $conns connections):"
      sed "s/^/$bench_name: !!!   /" <<<"$out"
    } >&2
    echo "$label" >>"$tmp/errors"
  fi
  awk '
    /Requests\/sec:/ { rps = $2 }
    $1 == "99%" {
      v = $2
      if (v ~ /us$/) { sub(/us$/, "", v); p99 = v / 1000 }
      else if (v ~ /ms$/) { sub(/ms$/, "", v); p99 = v }
      else if (v ~ /s$/) { sub(/s$/, "", v); p99 = v * 1000 }
    }
    END { printf "%.0f %.3f\n", rps, p99 }' <<<"$out"
}
