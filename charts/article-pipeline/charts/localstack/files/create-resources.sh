#!/bin/bash
# LocalStack init hook (/etc/localstack/init/ready.d): runs once LocalStack is "Ready.", before
# the pod is Ready (the readiness probe checks that the stream and bucket exist). Idempotent.
# Names come from the container's environment (AP_STREAM_NAME, AP_SHARD_COUNT, AP_BUCKET_NAME),
# so this file never changes with the values and changing a name rolls the pod through its env.
set -euo pipefail
: "${AP_STREAM_NAME:?}" "${AP_SHARD_COUNT:?}" "${AP_BUCKET_NAME:?}"
if ! awslocal kinesis describe-stream-summary --stream-name "$AP_STREAM_NAME" >/dev/null 2>&1; then
  # The publisher may create the stream concurrently; tolerate ResourceInUse.
  awslocal kinesis create-stream --stream-name "$AP_STREAM_NAME" --shard-count "$AP_SHARD_COUNT" || true
fi
awslocal kinesis wait stream-exists --stream-name "$AP_STREAM_NAME"
if ! awslocal s3api head-bucket --bucket "$AP_BUCKET_NAME" >/dev/null 2>&1; then
  awslocal s3 mb "s3://$AP_BUCKET_NAME"
fi
echo "article-pipeline: stream $AP_STREAM_NAME ($AP_SHARD_COUNT shards) and bucket $AP_BUCKET_NAME ready"
