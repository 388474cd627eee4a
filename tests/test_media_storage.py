"""Slow: uploads on object storage (and on a volume), through a rendered service run as in prod.

moto's server mode (an S3 API on a free loopback port, started here) is the object store; a
service rendered with ``media_storage=s3`` runs under gunicorn with `config.settings.prod`,
PostgreSQL and Redis on loopback. Through the catalog API:

- an owner's upload becomes one object in the bucket, under a random name, with the type
  read from its bytes (never the client's) and no public grant; reading the product's image
  answers 302 to a URL signed (SigV4, checked here against the service's key) for
  S3_URL_EXPIRY_SECONDS, which serves the bytes, while the same URL unsigned is refused;
- a second user neither reads the image of a draft (404, no URL) nor replaces it;
- an oversized file (413) and a file that only claims to be an image (400) are refused as
  problem+json and leave the bucket as it was; a replaced image's object is deleted.

moto does not verify request signatures (it does refuse anonymous reads of private
objects), so the signature of the redirect is recomputed here from the secret key.

``media_storage=local`` under the same conditions: the upload is a file under
DJANGO_MEDIA_ROOT, streamed only by the permission-checked view, never at /media/.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import json
import secrets
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from conftest import host_python, render
from gates import SYNC_GATE, base_env, find_uv, run_gate
from postgres import Cluster, free_port, pg_cluster
from production_services import (
    Server,
    background,
    collectstatic,
    gunicorn,
    prod_env,
    redis_server,
    run_to_exit,
)

__all__ = ["pg_cluster"]  # the fixture, imported to be used here

pytestmark = [
    pytest.mark.slow,
    # botocore (the harness's client, not the service's) still calls datetime.utcnow().
    pytest.mark.filterwarnings("ignore:datetime.datetime.utcnow:DeprecationWarning:botocore"),
]

HOST = "api.example.com"
PROXIED = {"Host": HOST, "X-Forwarded-Proto": "https"}
REGION = "us-east-1"
ACCESS_KEY = "AKIAHARNESSMEDIA"
SECRET_KEY = secrets.token_hex(20)  # a fresh one per run: the signature check must use it
EXPIRY_SECONDS = 300
MAX_IMAGE_BYTES = 2 * 1024 * 1024  # the example's limit (apps/catalog/images.py)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 1020


# --------------------------------------------------------------------------- the store


@dataclass
class Store:
    endpoint: str
    bucket: str
    client: Any  # boto3's S3 client (untyped)

    def keys(self) -> list[str]:
        listing = self.client.list_objects_v2(Bucket=self.bucket)
        return sorted(entry["Key"] for entry in listing.get("Contents", []))


@contextlib.contextmanager
def moto_s3(log_dir: Path) -> Iterator[str]:
    """moto's S3-compatible server on a free loopback port; yields its endpoint URL."""
    port = free_port()
    argv = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    log_file = log_dir / "moto.log"
    with background(argv, log_dir, base_env(), log_file) as process:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"moto server did not start:\n{log_file.read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.1)
        # A host name, not an address: botocore then honours the addressing style (an IP
        # endpoint is always path style), so the redirect's path shows the setting works.
        yield f"http://localhost:{port}"


# --------------------------------------------------------------------------- HTTP


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def request(
    server: Server, method: str, path: str, token: str, body: bytes = b"", **headers: str
) -> Reply:
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        connection.request(
            method,
            path,
            body=body,
            headers={**PROXIED, "Authorization": f"Bearer {token}", **headers},
        )
        response = connection.getresponse()
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


def upload(
    server: Server, product: int, token: str, content: bytes, *, name: str, content_type: str
) -> Reply:
    """PUT one multipart `image` part, named and typed as the client claims."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        [
            f"--{boundary}\r\n".encode(),
            f'Content-Disposition: form-data; name="image"; filename="{name}"\r\n'.encode(),
            f"Content-Type: {content_type}\r\n\r\n".encode(),
            content,
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return request(
        server,
        "PUT",
        image_path(product),
        token,
        body,
        **{"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )


def image_path(product: int) -> str:
    return f"/api/v1/catalog/products/{product}/image/"


def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    """GET a URL of the store directly, as a browser following the redirect would."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback http)
            headers = {name.lower(): value for name, value in response.headers.items()}
            return response.status, headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, {}, error.read()


def sigv4_query_signature(url: str, secret_key: str) -> str:
    """The SigV4 query-string signature ``url`` must carry (AWS's presigned GET, S3)."""
    parts = urllib.parse.urlsplit(url)
    query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k != "X-Amz-Signature"]
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}"
        for k, v in sorted(query)
    )
    fields = dict(query)
    canonical_request = "\n".join(
        ["GET", parts.path, canonical_query, f"host:{parts.netloc}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    date, region, service, terminator = fields["X-Amz-Credential"].split("/")[1:]
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            fields["X-Amz-Date"],
            f"{date}/{region}/{service}/{terminator}",
            hashlib.sha256(canonical_request.encode()).hexdigest(),
        ]
    )
    key = f"AWS4{secret_key}".encode()
    for step in (date, region, service, terminator):
        key = hmac.new(key, step.encode(), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- fixtures


@dataclass
class Deployment:
    server: Server
    store: Store
    owner_token: str
    other_token: str
    product: int


SEED = """
import json
from decimal import Decimal
from rest_framework_simplejwt.tokens import AccessToken
from apps.catalog import services
from apps.catalog.models import Category
from apps.users.models import User
owner = User.objects.create_user("owner@example.com")
other = User.objects.create_user("other@example.com")
category = Category.objects.create(name="Mugs", slug="mugs")
product = services.create_product(owner=owner, category=category, name="Mug", price=Decimal(9))
print(json.dumps({"owner": str(AccessToken.for_user(owner)),
                  "other": str(AccessToken.for_user(other)), "product": product.pk}))
"""


def manage(project: Path, env: dict[str, str], *args: str) -> str:
    argv = [str(find_uv()), "run", "python", "manage.py", *args]
    result = run_to_exit(argv, project, env, timeout=180)
    if result.returncode:
        pytest.fail(f"manage.py {args[0]} exited {result.returncode}:\n{result.stdout}")
    return result.stdout


def synced_render(directory: Path, **answers: Any) -> Path:
    project = render(directory / "svc", python_version=host_python(), **answers)
    synced = run_gate(SYNC_GATE, project, base_env())
    if not synced.ok:
        pytest.fail(synced.report(), pytrace=False)
    return project


@contextlib.contextmanager
def serve(project: Path, env: dict[str, str], logs: Path) -> Iterator[tuple[Server, Any]]:
    """collectstatic, migrate and seed as a deployment would, then gunicorn; yields the
    server and the seeded rows (two users' tokens, the owner's product)."""
    collectstatic(project, env)
    manage(project, env, "migrate", "--noinput")
    seeded = json.loads(manage(project, env, "shell", "-c", SEED).strip().splitlines()[-1])
    with gunicorn(project, env, logs) as server:
        yield server, seeded


@pytest.fixture(scope="module")
def deployment(
    pg_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    project = synced_render(tmp_path_factory.mktemp("media-s3"), media_storage="s3")
    logs = tmp_path_factory.mktemp("media-logs")
    with moto_s3(logs) as endpoint, redis_server() as redis_url:
        bucket = "media"
        client = boto3.client(
            "s3",
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )
        client.create_bucket(Bucket=bucket)
        env = prod_env(
            project,
            base_env(),
            pg_cluster.create_database("media_s3"),
            REDIS_URL=redis_url,
            S3_BUCKET_NAME=bucket,
            S3_ENDPOINT_URL=endpoint,
            S3_REGION_NAME=REGION,
            S3_ACCESS_KEY_ID=ACCESS_KEY,
            S3_SECRET_ACCESS_KEY=SECRET_KEY,
            S3_ADDRESSING_STYLE="path",
            S3_URL_EXPIRY_SECONDS=str(EXPIRY_SECONDS),
        )
        with serve(project, env, logs) as (server, seeded):
            yield Deployment(
                server,
                Store(endpoint, bucket, client),
                seeded["owner"],
                seeded["other"],
                seeded["product"],
            )


@pytest.fixture(scope="module")
def uploaded(deployment: Deployment) -> str:
    """The owner's PNG upload; the object key it became."""
    reply = upload(
        deployment.server,
        deployment.product,
        deployment.owner_token,
        PNG,
        name="holiday.html",
        content_type="text/html",
    )
    assert reply.status == 200, f"{reply.status} {reply.body!r}\n{deployment.server.log()}"
    assert reply.json()["has_image"] is True
    keys = deployment.store.keys()
    assert len(keys) == 1, keys
    return keys[0]


# --------------------------------------------------------------------------- tests


def test_an_upload_is_one_private_object_named_and_typed_by_the_service(
    deployment: Deployment, uploaded: str
) -> None:
    client, bucket = deployment.store.client, deployment.store.bucket
    assert uploaded.startswith("products/images/")
    assert uploaded.endswith(".png")  # from the bytes; the client said holiday.html, text/html
    stored = client.get_object(Bucket=bucket, Key=uploaded)
    assert stored["Body"].read() == PNG
    assert stored["ContentType"] == "image/png"
    grants = client.get_object_acl(Bucket=bucket, Key=uploaded)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert all(grant["Grantee"]["Type"] == "CanonicalUser" for grant in grants)


def test_the_owner_is_redirected_to_a_short_lived_signed_url_that_serves_it(
    deployment: Deployment, uploaded: str
) -> None:
    before = datetime.now(UTC)
    reply = request(
        deployment.server, "GET", image_path(deployment.product), deployment.owner_token
    )

    assert reply.status == 302, reply.body
    assert reply.headers["cache-control"] == "private, no-store"
    location = reply.headers["location"]
    parts = urllib.parse.urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}" == deployment.store.endpoint
    assert parts.path == f"/{deployment.store.bucket}/{uploaded}"
    query = dict(urllib.parse.parse_qsl(parts.query))
    assert query["X-Amz-Expires"] == str(EXPIRY_SECONDS)
    assert query["X-Amz-Credential"].startswith(f"{ACCESS_KEY}/")
    signed_at = datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    assert abs((signed_at - before).total_seconds()) < 60
    assert query["X-Amz-Signature"] == sigv4_query_signature(location, SECRET_KEY)

    status, headers, body = fetch(location)
    assert status == 200
    assert body == PNG
    assert headers["content-type"] == "image/png"
    # The object is private: without the signature the store refuses it.
    assert fetch(location.split("?", 1)[0])[0] == 403


def test_a_second_user_can_neither_read_nor_replace_the_image(
    deployment: Deployment, uploaded: str
) -> None:
    reply = request(
        deployment.server, "GET", image_path(deployment.product), deployment.other_token
    )
    assert reply.status == 404
    assert reply.headers["content-type"] == "application/problem+json"
    assert "location" not in reply.headers

    reply = upload(
        deployment.server,
        deployment.product,
        deployment.other_token,
        JPEG,
        name="x.jpg",
        content_type="image/jpeg",
    )
    assert reply.status == 404
    assert deployment.store.keys() == [uploaded]


@pytest.mark.parametrize(
    ("content", "status", "code"),
    [
        pytest.param(PNG[:8] + b"\x00" * MAX_IMAGE_BYTES, 413, "request_too_large", id="oversized"),
        pytest.param(
            b"<html><script>alert(1)</script></html>", 400, "validation_error", id="not-an-image"
        ),
    ],
)
def test_bad_files_are_refused_and_leave_no_object(
    deployment: Deployment, uploaded: str, content: bytes, status: int, code: str
) -> None:
    reply = upload(
        deployment.server,
        deployment.product,
        deployment.owner_token,
        content,
        name="photo.png",
        content_type="image/png",
    )

    assert reply.status == status, reply.body
    assert reply.headers["content-type"] == "application/problem+json"
    assert reply.json()["code"] == code
    assert deployment.store.keys() == [uploaded]


def test_a_replaced_image_leaves_only_the_new_object(deployment: Deployment, uploaded: str) -> None:
    reply = upload(
        deployment.server,
        deployment.product,
        deployment.owner_token,
        JPEG,
        name="photo.png",
        content_type="image/png",
    )

    assert reply.status == 200, reply.body
    # The old object is deleted when the new name commits, before the response is sent.
    keys = deployment.store.keys()
    assert len(keys) == 1
    assert keys[0] != uploaded
    assert keys[0].endswith(".jpg")


# --------------------------------------------------------------------------- local storage


def test_local_storage_keeps_uploads_in_the_media_root_and_streams_them_after_the_check(
    pg_cluster: Cluster, tmp_path: Path
) -> None:
    """media_storage=local (the default) under gunicorn with prod settings: the upload is a
    file under DJANGO_MEDIA_ROOT, read only through the permission-checked view."""
    project = synced_render(tmp_path)
    media_root = tmp_path / "media-volume"
    media_root.mkdir()
    with redis_server() as redis_url:
        env = prod_env(
            project,
            base_env(),
            pg_cluster.create_database("media_local"),
            REDIS_URL=redis_url,
            DJANGO_MEDIA_ROOT=str(media_root),
        )
        with serve(project, env, tmp_path) as (server, seeded):
            product, owner, other = seeded["product"], seeded["owner"], seeded["other"]
            reply = upload(server, product, owner, PNG, name="a.html", content_type="text/html")
            assert reply.status == 200, f"{reply.status} {reply.body!r}\n{server.log()}"
            stored = sorted(media_root.rglob("*.*"))
            assert [path.parent for path in stored] == [media_root / "products/images"]
            assert stored[0].suffix == ".png"
            assert stored[0].read_bytes() == PNG

            reply = request(server, "GET", image_path(product), owner)
            assert reply.status == 200
            assert reply.headers["content-type"] == "image/png"
            assert reply.headers["cache-control"] == "private, no-store"
            assert reply.body == PNG
            assert request(server, "GET", image_path(product), other).status == 404
            # Nothing serves the media directory itself.
            public = request(server, "GET", f"/media/{stored[0].relative_to(media_root)}", owner)
            assert public.status == 404

            oversized = PNG[:8] + b"\x00" * MAX_IMAGE_BYTES
            reply = upload(
                server, product, owner, oversized, name="b.png", content_type="image/png"
            )
            assert reply.status == 413
            assert sorted(media_root.rglob("*.*")) == stored
