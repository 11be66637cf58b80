# Local docker-registry instances for the scripts (sourced, not run). The caller sets `testkit` (the dray-testkit
# binary) and calls make_work first.

# Makes the work folder $work (/tmp/$1-XXXXXX); at exit, on Ctrl-C and on SIGTERM every registry started is
# stopped and the folder removed.
make_work() {
  work=$(mktemp -d "/tmp/$1-XXXXXX")
  pids=()
  trap cleanup_work EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

cleanup_work() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

# Starts a registry named $1 and sets the variable named $2 to its host:port. (Not in a command substitution:
# a subshell's copy of `pids` would never reach cleanup, and the registry would outlive the script.)
start_registry() {
  local name=$1 port
  port=$("$testkit" free-port)
  mkdir -p "$work/$name"
  cat > "$work/$name/config.yml" <<YAML
version: 0.1
log: {level: error, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/$name/data}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: local}
YAML
  docker-registry serve "$work/$name/config.yml" >"$work/$name/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  printf -v "$2" '127.0.0.1:%s' "$port"
}
