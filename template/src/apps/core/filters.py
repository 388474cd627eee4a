"""Filters shared by the apps' FilterSets."""

import django_filters
from drf_spectacular.utils import extend_schema_field

from apps.core.money import SCHEMA, MoneyFormField


@extend_schema_field(SCHEMA)
class MoneyFilter(django_filters.NumberFilter):
    """An amount in a query parameter: the pattern and bounds of apps.core.money."""

    field_class = MoneyFormField
