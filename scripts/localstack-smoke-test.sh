#!/usr/bin/env bash
# Smoke test of localhost/article-pipeline/localstack:4.14.0 with podman (or docker), as the
# article-pipeline chart runs it: uid 1000, all capabilities dropped, the chart's init script
# (charts/article-pipeline/charts/localstack, rendered with helm when available) mounted in
# /etc/localstack/init/ready.d, the edge port published on 127.0.0.1 only.
#
#   scripts/localstack-smoke-test.sh           # PORT=<n> to choose the host port
#
# Checks and times: "Ready." in the log, /_localstack/health (kinesis and s3 available), the
# ready.d hook done (stream + bucket made by awslocal), then with boto3 from the host:
# CreateStream -> ACTIVE, PutRecords/GetRecords round trip, S3 put/get. Then the same image
# with --network none (Kinesis engine and everything else must work offline).
# Needs python3 with boto3 on the host (the project's venv has it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
image="${LOCALSTACK_IMAGE:-localhost/article-pipeline/localstack:4.14.0}"
# Default: a free port on 127.0.0.1 (several smoke tests may run side by side).
port="${PORT:-$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}"
engine="${CONTAINER_ENGINE:-podman}"
python="${PYTHON:-python3}"
[ -x "$repo/.venv/bin/python" ] && [ -z "${PYTHON:-}" ] && python="$repo/.venv/bin/python"
helm="${HELM:-$repo/.tools/bin/helm}"
name="ap-localstack-smoke-$$"
work="$(mktemp -d "${TMPDIR:-/tmp}/localstack-smoke.XXXXXX")"
cleanup() {
  local rc=$?
  if [ "$rc" -ne 0 ]; then
    for c in "$name" "$name-offline"; do
      "$engine" logs "$c" 2>/dev/null | tail -n 40 | sed "s/^/[$c] /" >&2 || true
    done
  fi
  "$engine" rm -f "$name" >/dev/null 2>&1 || true
  "$engine" rm -f "$name-offline" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
log() { echo "[localstack smoke] $*"; }

# ---- the init hook: the chart's own script when helm can render it ---------------------------
mkdir -p "$work/ready.d"
chart="$repo/charts/article-pipeline/charts/localstack"
if [ -x "$helm" ] && [ -d "$chart" ] && "$helm" template smoke "$chart" \
     --show-only templates/configmap-init.yaml >"$work/cm.yaml" 2>/dev/null; then
  # As the chart mounts them: shell hooks in ready.d, anything else (the readiness probe
  # script) in /etc/article-pipeline.
  mkdir -p "$work/probe"
  "$python" - "$work/cm.yaml" "$work/ready.d" "$work/probe" <<'PY'
import sys, yaml, os
cm = yaml.safe_load(open(sys.argv[1]))
for k, v in cm["data"].items():
    p = os.path.join(sys.argv[2] if k.endswith(".sh") else sys.argv[3], k)
    open(p, "w").write(v)
    os.chmod(p, 0o555)
PY
  chmod 0755 "$work/probe"
  log "init hook: the chart's $(ls "$work/ready.d"); probe: $(ls "$work/probe")"
else
  cat >"$work/ready.d/01-create-resources.sh" <<'SH'
#!/bin/bash
set -euo pipefail
awslocal kinesis create-stream --stream-name "$AP_STREAM_NAME" --shard-count "$AP_SHARD_COUNT" || true
awslocal kinesis wait stream-exists --stream-name "$AP_STREAM_NAME"
awslocal s3 mb "s3://$AP_BUCKET_NAME"
echo "article-pipeline: stream $AP_STREAM_NAME and bucket $AP_BUCKET_NAME ready"
SH
  chmod 0555 "$work/ready.d/01-create-resources.sh"
  log "init hook: built-in equivalent of the chart's script (no helm at $helm)"
fi
chmod 0755 "$work" "$work/ready.d"

# ---- start as the chart does ------------------------------------------------------------------
probe_mount=()
if [ -f "$work/probe/ready.py" ]; then probe_mount=(-v "$work/probe:/etc/article-pipeline:ro"); fi
start=$(date +%s.%N)
"$engine" run -d --name "$name" -p "127.0.0.1:$port:4566" \
  --user 1000:1000 --cap-drop ALL --security-opt no-new-privileges \
  -e SERVICES=kinesis,s3 -e AWS_DEFAULT_REGION=us-east-1 \
  -e AP_STREAM_NAME=articles -e AP_SHARD_COUNT=2 -e AP_BUCKET_NAME=my-bucket \
  -v "$work/ready.d:/etc/localstack/init/ready.d:ro" \
  ${probe_mount[@]+"${probe_mount[@]}"} \
  "$image" >/dev/null
elapsed() { python3 -c "import time; print(f'{time.time() - $start:.1f}')"; }

for _ in $(seq 1 180); do
  if "$engine" logs "$name" 2>&1 | grep -cx 'Ready\.' >/dev/null; then break; fi
  if [ "$("$engine" inspect -f '{{.State.Running}}' "$name")" != "true" ]; then
    "$engine" logs "$name" | tail -40; echo "container exited" >&2; exit 1
  fi
  sleep 0.5
done
"$engine" logs "$name" 2>&1 | grep -cx 'Ready\.' >/dev/null || { "$engine" logs "$name" | tail -40; exit 1; }
log "\"Ready.\" after $(elapsed)s"

export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_DEFAULT_REGION=us-east-1
START="$start" ENDPOINT="http://127.0.0.1:$port" "$python" - <<'PY'
import json, os, time, urllib.request
import boto3

start = float(os.environ["START"])
ep = os.environ["ENDPOINT"]
def t(): return f"{time.time() - start:.1f}s"

health = json.load(urllib.request.urlopen(ep + "/_localstack/health", timeout=5))
svc = health["services"]
print(f"[localstack smoke] health: edition={health.get('edition')} version={health.get('version')} "
      f"kinesis={svc.get('kinesis')} s3={svc.get('s3')}")
assert svc.get("kinesis") in ("available", "running") and svc.get("s3") in ("available", "running"), svc

# The ready.d hook: done when /_localstack/init/ready says so.
for _ in range(240):
    init = json.load(urllib.request.urlopen(ep + "/_localstack/init/ready", timeout=5))
    if init.get("completed"):
        break
    time.sleep(0.5)
states = [(s["name"], s["state"]) for s in init.get("scripts", [])]
print(f"[localstack smoke] ready.d hooks completed after {t()}: {states}")
assert init.get("completed") and all(s == "SUCCESSFUL" for _, s in states), init

kin = boto3.client("kinesis", endpoint_url=ep)
s3 = boto3.client("s3", endpoint_url=ep)
summary = kin.describe_stream_summary(StreamName="articles")["StreamDescriptionSummary"]
print(f"[localstack smoke] hook's stream: {summary['StreamName']} {summary['StreamStatus']} "
      f"shards={summary['OpenShardCount']}; buckets: {[b['Name'] for b in s3.list_buckets()['Buckets']]}")

t0 = time.time()
kin.create_stream(StreamName="smoke", ShardCount=1)
kin.get_waiter("stream_exists").wait(StreamName="smoke", WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
print(f"[localstack smoke] CreateStream -> ACTIVE in {time.time() - t0:.2f}s ({t()} after start)")
recs = [{"Data": f"record-{i}".encode(), "PartitionKey": str(i)} for i in range(100)]
assert kin.put_records(StreamName="smoke", Records=recs)["FailedRecordCount"] == 0
shard = kin.list_shards(StreamName="smoke")["Shards"][0]["ShardId"]
it = kin.get_shard_iterator(StreamName="smoke", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
got = []
while len(got) < 100:
    r = kin.get_records(ShardIterator=it, Limit=1000)
    got += [x["Data"] for x in r["Records"]]
    it = r["NextShardIterator"]
    if not r["Records"]:
        break
assert got == [f"record-{i}".encode() for i in range(100)], got[:5]
print("[localstack smoke] Kinesis: 100 records put and read back in order")
s3.create_bucket(Bucket="smoke")
s3.put_object(Bucket="smoke", Key="a/b.txt", Body=b"hello")
assert s3.get_object(Bucket="smoke", Key="a/b.txt")["Body"].read() == b"hello"
print("[localstack smoke] S3: object written and read back")
PY
"$engine" logs "$name" 2>&1 | grep -E 'article-pipeline:|ERROR|Traceback' | head -5 || true
if [ "${#probe_mount[@]}" -gt 0 ]; then
  "$engine" exec "$name" python3 /etc/article-pipeline/ready.py
  log "the chart's readiness probe (python3 /etc/article-pipeline/ready.py) passes"
fi
"$engine" rm -f -t 2 "$name" >/dev/null

# ---- offline: no network at all; the client runs inside the container ------------------------
start=$(date +%s.%N)
"$engine" run -d --name "$name-offline" --network none --user 1000:1000 --cap-drop ALL "$image" >/dev/null
for _ in $(seq 1 180); do
  "$engine" logs "$name-offline" 2>&1 | grep -cx 'Ready\.' >/dev/null && break
  sleep 0.5
done
"$engine" logs "$name-offline" 2>&1 | grep -cx 'Ready\.' >/dev/null || { "$engine" logs "$name-offline" | tail -40; exit 1; }
log "offline (--network none): \"Ready.\" after $(elapsed)s"
"$engine" exec -e AWS_ACCESS_KEY_ID=test -e AWS_SECRET_ACCESS_KEY=test "$name-offline" python - <<'PY'
import time, boto3
kin = boto3.client("kinesis", endpoint_url="http://127.0.0.1:4566")
t0 = time.time()
kin.create_stream(StreamName="offline", ShardCount=1)
kin.get_waiter("stream_exists").wait(StreamName="offline", WaiterConfig={"Delay": 0.2, "MaxAttempts": 300})
kin.put_record(StreamName="offline", Data=b"x", PartitionKey="k")
shard = kin.list_shards(StreamName="offline")["Shards"][0]["ShardId"]
it = kin.get_shard_iterator(StreamName="offline", ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
assert [r["Data"] for r in kin.get_records(ShardIterator=it)["Records"]] == [b"x"]
print(f"[localstack smoke] offline: stream ACTIVE in {time.time() - t0:.2f}s, record round trip ok")
PY
log "all checks passed"
