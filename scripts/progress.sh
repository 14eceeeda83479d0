# Sourced by deps.sh and build-vso.sh, which define log().
# with_progress WHAT LOGFILE CMD...: runs a long command, printing a heartbeat with the elapsed
# time every 30 s so nobody stares at a silent terminal. Output goes to LOGFILE, shown on error.
with_progress() {
  local what="$1" logfile="$2"
  shift 2
  local t0=$SECONDS
  log "building $what (log: $logfile)"
  "$@" >"$logfile" 2>&1 &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    for _ in $(seq 1 30); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "  still building $what: $((SECONDS - t0))s elapsed"
    fi
  done
  if ! wait "$pid"; then
    log "FAILED building $what; last lines of $logfile:"
    tail -n 40 "$logfile" >&2
    return 1
  fi
  log "built $what in $((SECONDS - t0))s"
}
