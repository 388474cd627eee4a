"""URL slugs derived from names, for names in any script.

`slugify(allow_unicode=True)` keeps letters of every script ("日本語の商品" stays itself,
"Crème brûlée" becomes "crème-brûlée"); a name with nothing a slug can keep ("!!!") gets
`<model>-<8 hex>`, so every name the serializer accepts has a usable slug. The slug is the
server's: when it cannot be stored, the client is told about the field it sent, `name`.
"""

import secrets

from django.core.exceptions import ValidationError
from django.utils.text import slugify


def slug_for(name: str, *, model: str, max_length: int) -> str:
    """A slug for ``name`` of at most ``max_length`` characters, never empty."""
    # NFKC normalisation can lengthen a name (one ligature, several letters): cut, then
    # drop the dash a cut may leave at the end.
    slug = slugify(name, allow_unicode=True)[:max_length].strip("-_")
    return slug or f"{slugify(model)}-{secrets.token_hex(4)}"[:max_length]


def on_name(error: ValidationError, *, slug_field: str = "slug") -> ValidationError:
    """``error`` with the slug's messages moved to `name`, the field the client sent."""
    if not hasattr(error, "error_dict") or slug_field not in error.error_dict:
        return error
    errors = dict(error.error_dict)
    errors["name"] = [*errors.get("name", []), *errors.pop(slug_field)]
    return ValidationError(errors)
