"""boto3 clients and pyarrow S3 filesystems built the same way everywhere.

Credentials always come from the standard chain (environment, profile, IRSA web identity);
no code passes keys. When an endpoint is set (moto, LocalStack) S3 uses path-style
addressing; against real AWS it uses the default virtual-hosted style.
"""
from __future__ import annotations

from typing import Any

from common.settings import AwsSettings


def client(service: str, aws: AwsSettings, **config_overrides: Any) -> Any:
    """A boto3 client for ``service`` ('kinesis', 's3') with standard retries."""
    import boto3
    from botocore.config import Config

    options: dict[str, Any] = {"retries": {"mode": "standard", "max_attempts": 3}}
    if service == "s3" and aws.endpoint_url:
        options["s3"] = {"addressing_style": "path"}
    options.update(config_overrides)
    return boto3.session.Session().client(
        service, region_name=aws.region, endpoint_url=aws.endpoint_url, config=Config(**options)
    )


def s3_filesystem(aws: AwsSettings) -> Any:
    """A ``pyarrow.fs.S3FileSystem`` pointed at the same S3 as ``client('s3', aws)``."""
    from urllib.parse import urlparse

    from pyarrow import fs

    if aws.endpoint_url is None:
        return fs.S3FileSystem(region=aws.region)
    parsed = urlparse(aws.endpoint_url)
    return fs.S3FileSystem(
        region=aws.region,
        endpoint_override=f"{parsed.hostname}:{parsed.port}" if parsed.port else parsed.hostname,
        scheme=parsed.scheme,
        force_virtual_addressing=False,
    )
