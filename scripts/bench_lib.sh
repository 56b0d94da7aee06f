# Shared by the benchmark scripts: the alternating, sync-before-each timing loop.
# bench_alternate RUNS RESULTS_TSV WORKDIR NAME... — runs "${CMD[NAME]}" for each NAME in turn, RUNS
# rounds, with `sync` before each run, and appends "name round seconds max_rss_kb" rows to RESULTS_TSV.
# The caller defines the associative array CMD. Exits 1 with the command's last lines if one fails.
bench_alternate() {
  local runs=$1 res=$2 work=$3; shift 3
  : > "$res"
  local r name secs rss
  for r in $(seq 1 "$runs"); do
    for name in "$@"; do
      sync
      /usr/bin/time -f "%e %M" -o "$work/time.txt" bash -c "${CMD[$name]}" >"$work/log.txt" 2>&1 \
        || { echo "bench: $name failed:"; tail -5 "$work/log.txt"; exit 1; }
      read -r secs rss < <(tail -1 "$work/time.txt")
      printf "%s\t%s\t%s\t%s\n" "$name" "$r" "$secs" "$rss" >> "$res"
      printf "run %d %-14s %7.2f s  %6d MiB\n" "$r" "$name" "$secs" $((rss / 1024))
    done
  done
}

# bench_args NAME "$@" — parses --size N --runs R into SIZE and RUNS (defaults set by the caller).
bench_args() {
  local name=$1; shift
  while [ $# -gt 0 ]; do
    case "$1" in
      --size) SIZE=$2; shift 2 ;;
      --runs) RUNS=$2; shift 2 ;;
      *) echo "$name: unknown option $1 (use --size N --runs R)" >&2; exit 2 ;;
    esac
  done
}
