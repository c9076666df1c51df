#!/usr/bin/env bash
# Build the lz-ingest image with podman and check it: --help, a non-root process, `demo` ingests its
# sample, and a multi-container ingest (Redis, irods-lite, the watcher, a worker pool and the scheduler,
# each its own container on a podman network) of files dropped into a mounted landing zone, read back
# from the catalog. Installs nothing: needs podman, runc and (for the base image) debootstrap, as root.
#
# The base image is made from Debian packages with debootstrap and kept as localhost/lz-base:bookworm;
# later runs reuse it (LZ_SMOKE_FROM_SCRATCH=1 removes it, the image and podman's build cache first).
# Environment: LZ_IMAGE (default localhost/lz-ingest:smoke), LZ_BASE_IMAGE, LZ_DEBIAN_MIRROR (default:
# the first bookworm mirror in this machine's apt sources), LZ_CA_BUNDLE (default: the host's bundle).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
image="${LZ_IMAGE:-localhost/lz-ingest:smoke}"
base="${LZ_BASE_IMAGE:-localhost/lz-base:bookworm}"
ca_bundle="${LZ_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
prefix="lz-smoke-$$"
work="$(mktemp -d "${TMPDIR:-/var/tmp}/lz-smoke.XXXXXX")"
t_start=$(date +%s)

say() { printf 'smoke: %s\n' "$*" >&2; }
fail() { printf 'smoke: FAILED: %s\n' "$*" >&2; exit 1; }

for tool in podman runc; do
    command -v "$tool" >/dev/null || fail "$tool not found (Debian: apt-get install podman runc debootstrap)"
done

# crun refuses this kernel's hybrid cgroup layout, and podman's default ulimits (nofile 1048576, nproc
# 4194304) are above what a sandbox without CAP_SYS_RESOURCE may set: a private containers.conf, so
# nothing outside this script changes, with the host's hard limits (nproc lowered until runc accepts it:
# the limit runc's init may set can be below the shell's)
write_conf() {
    cat >"$work/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$1:$1"]
log_driver = "k8s-file"
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
network_backend = "netavark"
CONF
}
export CONTAINERS_CONF="$work/containers.conf"
pod() { podman --runtime runc "$@"; }
choose_ulimits() {  # needs an image to try them with
    local nproc
    for nproc in "$(ulimit -Hu)" 65536 32768 16384 4096; do
        [ "$nproc" = unlimited ] && continue
        write_conf "$nproc"
        if pod run --rm --network none --entrypoint true "$1" >/dev/null 2>&1; then return; fi
    done
    fail "no container starts with runc here (podman run --runtime runc $1 true fails)"
}
write_conf "$(ulimit -Hu)"

containers=()
network=""
cleanup() {
    local status=$?
    if [ "$status" -ne 0 ] && [ "${#containers[@]}" -gt 0 ]; then
        for c in "${containers[@]}"; do
            say "--- last log lines of $c"
            pod logs --tail 20 "$c" 2>&1 | sed 's/^/    /' >&2 || true
        done
    fi
    for c in "${containers[@]}"; do pod rm -f -t 2 "$c" >/dev/null 2>&1 || true; done
    [ -n "$network" ] && pod network rm -f "$network" >/dev/null 2>&1 || true
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 143' TERM INT

# containers and networks of an earlier run that was killed outright (its process is gone)
for stale in $(pod ps -a --filter label=lz-smoke --format '{{.Names}}' 2>/dev/null); do
    pid="${stale#lz-smoke-}" && pid="${pid%%-*}"
    kill -0 "$pid" 2>/dev/null || pod rm -f -t 2 "$stale" >/dev/null 2>&1 || true
done
for stale in $(pod network ls --format '{{.Name}}' 2>/dev/null | grep '^lz-smoke-[0-9]*-net$' || true); do
    pid="${stale#lz-smoke-}" && pid="${pid%-net}"
    kill -0 "$pid" 2>/dev/null || pod network rm -f "$stale" >/dev/null 2>&1 || true
done

debian_mirror() {
    if [ -n "${LZ_DEBIAN_MIRROR:-}" ]; then echo "$LZ_DEBIAN_MIRROR"; return; fi
    local found
    found="$(cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk '/^URIs:/ {print $2; exit}')"
    [ -z "$found" ] && found="$(awk '$1 == "deb" && $3 ~ /^bookworm$/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null)"
    echo "${found:-http://deb.debian.org/debian}"
}

if [ "${LZ_SMOKE_FROM_SCRATCH:-0}" = 1 ]; then
    say "from scratch: removing $image, $base and podman's build cache"
    pod rmi -f "$image" "$base" >/dev/null 2>&1 || true
    pod image prune -f >/dev/null 2>&1 || true
fi

# 1. the base image: Debian's python3 from debootstrap, unless it is there already
t0=$(date +%s)
if pod image exists "$base"; then
    say "base image $base is there (cached)"
else
    command -v debootstrap >/dev/null || fail "debootstrap not found (Debian: apt-get install debootstrap)"
    [ "$(id -u)" = 0 ] || fail "debootstrap needs root to build $base"
    mirror="$(debian_mirror)"
    say "building $base with debootstrap from $mirror"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$work/rootfs" "$mirror" \
        >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
    tar -C "$work/rootfs" -c . | pod import --quiet - "$base" >/dev/null
    rm -rf "$work/rootfs"
fi
t_base=$(( $(date +%s) - t0 ))
choose_ulimits "$base"

# 2. the image, from a context holding only what the package needs (no .venv, no caches); its RUN steps
# use the host's network (pip reaches the package index as the host does), nothing else does
t0=$(date +%s)
mkdir -p "$work/context"
cp "$repo/pyproject.toml" "$repo/README.md" "$work/context/"
cp -r "$repo/lz_ingest" "$work/context/lz_ingest"
find "$work/context" \( -name __pycache__ -o -name '*.egg-info' \) -prune -exec rm -rf {} +
[ -r "$ca_bundle" ] || fail "CA bundle $ca_bundle not readable (set LZ_CA_BUNDLE)"
pod build --quiet --runtime runc -f "$here/Containerfile" --build-arg "BASE=$base" \
    --network host --secret "id=ca,src=$ca_bundle" \
    -t "$image" "$work/context" >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; fail "podman build"; }
t_image=$(( $(date +%s) - t0 ))
# earlier builds' untagged images, once a day old (recent ones are the layer cache)
pod image prune -f --filter until=24h >/dev/null 2>&1 || true
say "built $image: base ${t_base}s, image ${t_image}s"

# 3. the image by itself
pod run --rm "$image" --help | grep -q '^Commands:' || fail "--help does not list the commands"
uid="$(pod run --rm --entrypoint id "$image" -u)"
[ "$uid" != 0 ] || fail "the container runs as root"
pod image inspect --format '{{.Config.User}}' "$image" | grep -qv '^0' || fail "the image's user is root"
[ -z "$(pod run --rm --entrypoint sh "$image" -c 'ls /run/secrets/ca 2>/dev/null')" ] || fail "the CA bundle is in the image"
# the watcher's zones.yaml loader needs PyYAML in the image: a missing file is its one-line error
refusal="$(pod run --rm "$image" watcher --config /nonexistent/zones.yaml 2>&1 || true)"
[[ "$refusal" == "lz-ingest: error: --config /nonexistent/zones.yaml: "* ]] \
    || fail "watcher --config does not load its file: $refusal"
say "--help works; runs as uid $uid"

pod run --rm "$image" demo >"$work/demo.log" 2>&1 || { cat "$work/demo.log" >&2; fail "demo"; }
demo_objects="$(grep -c ' bytes ' "$work/demo.log" || true)"
[ "$demo_objects" = 17 ] || { cat "$work/demo.log" >&2; fail "demo: $demo_objects objects in the catalog, expected 17"; }
say "demo ingested its sample: $demo_objects objects"

# 4. a multi-container ingest of a mounted landing zone
network="$prefix-net"
pod network create --internal "$network" >/dev/null
zone="$work/zone"
mkdir -m 755 "$zone"
redis="$prefix-redis" irods="$prefix-irods"
url="redis://$redis:6379/0"
cat >"$work/irods.env" <<ENV
IRODS_HOST=$irods
IRODS_PORT=1247
IRODS_USER_NAME=rods
IRODS_ZONE_NAME=tempZone
IRODS_PASSWORD=rods
ENV
run_bg() {
    local name="$1"; shift; containers+=("$name")
    pod run -d --name "$name" --label lz-smoke --network "$network" "$@" >/dev/null
}
# the zone is mounted read-only at the same path everywhere: the workers read it, irods-lite (like a
# resource server sharing the filesystem) registers its files in place
zone_ro=(-v "$zone:/data/zone:ro")
run_bg "$redis" --entrypoint redis-server "$image" --bind 0.0.0.0 --port 6379 --protected-mode no --save ''
run_bg "$irods" "${zone_ro[@]}" "$image" irods-lite --host 0.0.0.0 --port 1247
run_bg "$prefix-worker" "${zone_ro[@]}" --env-file "$work/irods.env" "$image" worker -c 2 --redis-url "$url"
run_bg "$prefix-scheduler" "$image" scheduler --redis-url "$url"

probe() {  # python in the image on the network, with the iRODS environment
    pod run --rm -i --network "$network" --env-file "$work/irods.env" --entrypoint python3 "$image" - "$@"
}
wait_for() {  # wait_for SECONDS DESCRIPTION COMMAND...
    local deadline=$(( $(date +%s) + $1 )) what="$2"; shift 2
    until "$@" >/dev/null 2>&1; do
        [ "$(date +%s)" -lt "$deadline" ] || fail "timed out waiting for $what"
        sleep 1
    done
}
wait_for 60 "irods-lite and Redis" probe "$redis" <<'PY'
import socket, sys, os
for host, port in ((sys.argv[1], 6379), (os.environ["IRODS_HOST"], 1247)):
    socket.create_connection((host, port), timeout=2).close()
PY

target=/tempZone/home/rods/zone
run_bg "$prefix-watcher" "${zone_ro[@]}" --env-file "$work/irods.env" "$image" \
    watcher /data/zone "$target" --job_name smoke --redis-url "$url"
watching() { pod logs "$prefix-watcher" 2>&1 | grep -q 'watching /data/zone'; }
wait_for 120 "the watcher to watch /data/zone" watching

# files dropped into the landing zone while the watcher watches it
expected=()
for run in run-1 run-2/lane-a; do
    mkdir -p "$zone/$run"
    for i in 1 2 3; do
        printf '%s file %s\n' "$run" "$i" >"$zone/$run/reads_$i.fastq"
        expected+=("$target/$run/reads_$i.fastq")
    done
done
chmod -R a+rX "$zone"

catalog_has_all() {
    probe "$target" "${expected[@]}" <<'PY'
import os, sys
from irods.session import iRODSSession
target, expected = sys.argv[1], set(sys.argv[2:])
env = {k: os.environ[f"IRODS_{k.upper()}"] for k in ("host", "port", "user_name", "zone_name", "password")}
with iRODSSession(host=env["host"], port=int(env["port"]), user=env["user_name"], zone=env["zone_name"],
                  password=env["password"]) as session:
    found = {obj.path: obj for _c, _s, objs in session.collections.get(target).walk() for obj in objs}
    missing = expected - set(found)
    wrong = [p for p in expected & set(found) if found[p].replicas[0].path != "/data/zone" + p[len(target):]]
    sys.exit(1 if missing or wrong else 0)
PY
}
wait_for 180 "the dropped files in the catalog under $target" catalog_has_all
events="$(probe "$url" <<'PY'
import sys, redis
counts = {k.decode(): v.decode() for k, v in redis.Redis.from_url(sys.argv[1]).hgetall("lz:events:smoke").items()}
print(f"observer={counts.get('observer')} files_queued={counts.get('files_queued', 0)}")
PY
)"
# queued by the watcher's events, not by a rescan (the only one ran at start, before the files existed)
queued="${events##*files_queued=}"
[ "$queued" -ge "${#expected[@]}" ] || fail "the watcher queued $queued files from events ($events)"
say "multi-container ingest: ${#expected[@]} dropped files registered under $target ($events)"
say "OK in $(( $(date +%s) - t_start ))s (base ${t_base}s, image ${t_image}s)"
