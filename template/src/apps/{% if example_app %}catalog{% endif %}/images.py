"""Product images: what an upload must be before it is stored.

The type comes from the file's first bytes (its signature), never from the client's file
name or Content-Type, both of which the client chooses. Only formats browsers display and
that carry no script are accepted (no SVG), and the size is capped before anything is kept.
"""

from enum import StrEnum
from typing import Any, Self

from django.core.exceptions import ValidationError
from django.core.files import File

# Large enough for a product photo, small enough that an upload costs little to refuse.
MAX_IMAGE_BYTES = 2 * 1024 * 1024
# The longest signature checked below (WebP: "RIFF", 4 size bytes, "WEBP").
_HEAD_BYTES = 12


class ImageType(StrEnum):
    """Accepted formats; the value is the stored file's extension."""

    PNG = "png"
    JPEG = "jpg"
    WEBP = "webp"

    @property
    def content_type(self) -> str:
        return {"png": "image/png", "jpg": "image/jpeg", "webp": "image/webp"}[self.value]

    @classmethod
    def from_name(cls, name: str) -> Self:
        """The type of a stored image, from the extension this module gave it."""
        return cls(name.rsplit(".", 1)[-1])


class ImageTooLargeError(ValidationError):
    def __init__(self) -> None:
        super().__init__(
            f"The image is larger than {MAX_IMAGE_BYTES // (1024 * 1024)} MiB.",
            code="image_too_large",
        )


class UnsupportedImageError(ValidationError):
    def __init__(self) -> None:
        super().__init__("The file is not a PNG, JPEG or WebP image.", code="unsupported_image")


def image_type(head: bytes) -> ImageType | None:
    """The format whose signature ``head`` (a file's first bytes) starts with, if any."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageType.PNG
    if head.startswith(b"\xff\xd8\xff"):
        return ImageType.JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return ImageType.WEBP
    return None


def inspect_image(file: File[Any]) -> ImageType:
    """The checked type of an upload; raises before anything is stored if it is refused."""
    if file.size is None or file.size > MAX_IMAGE_BYTES:
        raise ImageTooLargeError
    file.seek(0)
    head = file.read(_HEAD_BYTES)
    file.seek(0)
    kind = image_type(head if isinstance(head, bytes) else head.encode())
    if kind is None:
        raise UnsupportedImageError
    return kind
