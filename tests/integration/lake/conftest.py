"""Fixtures of the lake tests on S3: moto's server and a fresh location per test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto_s3 import running_s3

from flowservice.lake import LakeLocation


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    with running_s3(access_key="test", secret_key="test") as endpoint:
        yield endpoint


@pytest.fixture
def location(s3_endpoint: str, request: pytest.FixtureRequest) -> LakeLocation:
    """A location of its own for each test, on the module's S3 server."""
    options = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_REGION": "us-east-1",
        "AWS_ALLOW_HTTP": "true",
        # Safe concurrent commits without a lock table: S3 conditional writes.
        "AWS_CONDITIONAL_PUT": "etag",
    }
    return LakeLocation("s3://lake/org1/prod", options).child(request.node.name)
