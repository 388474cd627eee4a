"""The product image: uploaded by the owner, checked by its bytes, read by those who may
see the product. Storage is in memory (config.settings.test), fresh for each test."""

import re

import pytest
from django.core.files.storage import Storage, default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from pytest_django import DjangoCaptureOnCommitCallbacks, Settings
from rest_framework.test import APIClient

from apps.catalog.images import MAX_IMAGE_BYTES
from apps.catalog.models import Product
from apps.catalog.tests.factories import (
    JPEG_HEAD,
    PNG_HEAD,
    WEBP_HEAD,
    ProductFactory,
    image_upload,
)
from apps.users.models import User
from apps.users.tests.factories import UserFactory

pytestmark = pytest.mark.django_db

IMAGES_DIR = "products/images"
STORED_NAME = re.compile(r"products/images/[0-9a-f]{32}\.(png|jpg|webp)")


@pytest.fixture(autouse=True)
def storage(settings: Settings) -> Storage:
    # Setting STORAGES again makes Django build a new, empty in-memory storage.
    settings.STORAGES = {**settings.STORAGES}
    return default_storage


@pytest.fixture
def owner() -> User:
    return UserFactory.create()


@pytest.fixture
def api(owner: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(owner)
    return client


def image_url(product: Product) -> str:
    return f"/api/v1/catalog/products/{product.pk}/image/"


def content_of(upload: SimpleUploadedFile) -> bytes:
    upload.seek(0)
    return bytes(upload.read())


def stored_name(product: Product) -> str:
    """The product's image name as committed; fails the test if it has none."""
    product.refresh_from_db()
    assert product.image.name, "the product has no image"
    return product.image.name


def stored_files(storage: Storage) -> list[str]:
    if not storage.exists(IMAGES_DIR):
        return []
    return sorted(storage.listdir(IMAGES_DIR)[1])


def test_owner_uploads_a_png_stored_under_a_random_name(
    api: APIClient, owner: User, storage: Storage
) -> None:
    product = ProductFactory.create(owner=owner)
    upload = image_upload(name="../../etc/passwd.html", content_type="text/html")

    response = api.put(image_url(product), {"image": upload}, format="multipart")

    assert response.status_code == 200
    assert response.json()["id"] == product.pk
    assert response.json()["has_image"] is True
    name = stored_name(product)
    assert STORED_NAME.fullmatch(name)
    assert name.endswith(".png")
    with storage.open(name) as stored:
        assert stored.read() == content_of(upload)


@pytest.mark.parametrize(
    ("head", "extension"), [(PNG_HEAD, "png"), (JPEG_HEAD, "jpg"), (WEBP_HEAD, "webp")]
)
def test_the_stored_type_comes_from_the_bytes_not_the_name(
    api: APIClient, owner: User, head: bytes, extension: str
) -> None:
    product = ProductFactory.create(owner=owner)
    upload = image_upload(head=head, name="photo.gif", content_type="image/gif")

    response = api.put(image_url(product), {"image": upload}, format="multipart")

    assert response.status_code == 200
    assert stored_name(product).endswith(f".{extension}")


def test_an_image_of_exactly_the_limit_is_accepted(api: APIClient, owner: User) -> None:
    product = ProductFactory.create(owner=owner)

    response = api.put(
        image_url(product), {"image": image_upload(size=MAX_IMAGE_BYTES)}, format="multipart"
    )

    assert response.status_code == 200


def test_an_oversized_image_is_413_and_nothing_is_stored(
    api: APIClient, owner: User, storage: Storage
) -> None:
    product = ProductFactory.create(owner=owner)

    response = api.put(
        image_url(product), {"image": image_upload(size=MAX_IMAGE_BYTES + 1)}, format="multipart"
    )

    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "request_too_large"
    assert response.json()["detail"] == "The image is larger than 2 MiB."
    assert stored_files(storage) == []
    product.refresh_from_db()
    assert not product.image


def test_a_file_that_only_claims_to_be_an_image_is_400_and_nothing_is_stored(
    api: APIClient, owner: User, storage: Storage
) -> None:
    product = ProductFactory.create(owner=owner)
    upload = image_upload(head=b"<svg onload=alert(1)>", name="photo.png")

    response = api.put(image_url(product), {"image": upload}, format="multipart")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"
    assert response.json()["errors"] == {
        "image": [
            {"message": "The file is not a PNG, JPEG or WebP image.", "code": "unsupported_image"}
        ]
    }
    assert stored_files(storage) == []


def test_a_request_without_a_file_is_400(api: APIClient, owner: User) -> None:
    product = ProductFactory.create(owner=owner)

    response = api.put(image_url(product), {}, format="multipart")

    assert response.status_code == 400
    assert response.json()["errors"]["image"][0]["code"] == "required"


def test_replacing_the_image_deletes_the_previous_object_after_commit(
    api: APIClient,
    owner: User,
    storage: Storage,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    product = ProductFactory.create(owner=owner)
    api.put(image_url(product), {"image": image_upload()}, format="multipart")
    first = stored_name(product)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.put(
            image_url(product), {"image": image_upload(head=JPEG_HEAD)}, format="multipart"
        )

    assert response.status_code == 200
    second = stored_name(product)
    assert second != first
    assert not storage.exists(first)
    assert stored_files(storage) == [second.rsplit("/", 1)[1]]


def test_another_users_product_is_404_and_nothing_is_stored(
    api: APIClient, storage: Storage
) -> None:
    product = ProductFactory.create(published=True)

    response = api.put(image_url(product), {"image": image_upload()}, format="multipart")

    assert response.status_code == 404
    assert stored_files(storage) == []


def test_anonymous_clients_get_401() -> None:
    product = ProductFactory.create(published=True)

    assert APIClient().get(image_url(product)).status_code == 401
    upload = {"image": image_upload()}
    assert APIClient().put(image_url(product), upload, format="multipart").status_code == 401


def test_the_owner_reads_a_draft_image_streamed_privately(api: APIClient, owner: User) -> None:
    product = ProductFactory.create(owner=owner)
    upload = image_upload(head=WEBP_HEAD)
    api.put(image_url(product), {"image": upload}, format="multipart")

    response = api.get(image_url(product))

    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Cache-Control"] == "private, no-store"
    assert response.getvalue() == content_of(upload)


def test_other_users_read_the_image_of_a_published_product_only(
    api: APIClient, owner: User
) -> None:
    draft = ProductFactory.create(owner=owner)
    published = ProductFactory.create(owner=owner, published=True)
    for product in (draft, published):
        api.put(image_url(product), {"image": image_upload()}, format="multipart")
    other = APIClient()
    other.force_authenticate(UserFactory.create())

    assert other.get(image_url(draft)).status_code == 404
    assert other.get(image_url(published)).status_code == 200


def test_a_product_without_an_image_is_404(api: APIClient, owner: User) -> None:
    response = api.get(image_url(ProductFactory.create(owner=owner)))

    assert response.status_code == 404
    assert response.json()["detail"] == "This product has no image."


def test_with_signed_urls_the_read_redirects_to_the_storage_url(
    api: APIClient, owner: User, settings: Settings, storage: Storage
) -> None:
    product = ProductFactory.create(owner=owner)
    api.put(image_url(product), {"image": image_upload()}, format="multipart")
    name = stored_name(product)
    settings.MEDIA_SIGNED_URLS = True

    response = api.get(image_url(product))

    assert response.status_code == 302
    assert response["Location"] == storage.url(name)
    assert response["Cache-Control"] == "private, no-store"


def test_deleting_a_product_deletes_its_image_after_commit(
    api: APIClient,
    owner: User,
    storage: Storage,
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    product = ProductFactory.create(owner=owner)
    api.put(image_url(product), {"image": image_upload()}, format="multipart")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/catalog/products/{product.pk}/")

    assert response.status_code == 204
    assert stored_files(storage) == []


def test_the_schema_describes_the_multipart_upload_and_its_refusals(api: APIClient) -> None:
    schema = api.get("/api/v1/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/catalog/products/{id}/image/"]["put"]

    body = operation["requestBody"]["content"]
    assert list(body) == ["multipart/form-data"]
    image = schema["components"]["schemas"]["ProductImageRequest"]["properties"]["image"]
    assert image["format"] == "binary"
    assert str(MAX_IMAGE_BYTES) in image["description"]
    for status in ("400", "413"):
        content = operation["responses"][status]["content"]["application/problem+json"]
        assert content["schema"] == {"$ref": "#/components/schemas/Problem"}
