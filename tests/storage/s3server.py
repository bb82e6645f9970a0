"""A real S3-compatible HTTP server for the tests: moto's server mode in a subprocess on a free port.

Not an in-process mock: boto3 (through django-storages) speaks HTTP to it exactly as it would to AWS S3 or
MinIO (signatures, listings, paging, 404s). One server per test process; each test gets its own key prefix
in one bucket, so tests never see each other's objects.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from typing import Any

import boto3

BUCKET = "tuco-test"
ACCESS_KEY, SECRET_KEY, REGION = "tuco-test-key", "tuco-test-secret", "us-east-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class S3Server:
    def __init__(self) -> None:
        self.port = _free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        self.client().create_bucket(Bucket=BUCKET)

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.endpoint_url, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def storage_options(self, prefix: str | None = None) -> dict[str, Any]:
        """The OPTIONS of settings.STORAGES["tuco_media"] as TUCO_STORAGE=s3 builds them."""
        from botocore.config import Config

        return {"bucket_name": BUCKET, "endpoint_url": self.endpoint_url, "region_name": REGION,
                "access_key": ACCESS_KEY, "secret_key": SECRET_KEY, "addressing_style": "path",
                "location": prefix if prefix is not None else f"t-{uuid.uuid4().hex[:12]}",
                "default_acl": None, "querystring_auth": True, "file_overwrite": True,
                "client_config": Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                        connect_timeout=5, read_timeout=30)}

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
