# Local docker-registry instances for the scripts (sourced, not run). The caller sets `testkit` (the dray-testkit
# binary) and `work` (a folder it removes at exit), declares `pids=()`, and stops every PID in it at exit.

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
