import django_filters

from apps.catalog.choices import ProductStatus
from apps.catalog.models import Product
from apps.core.filters import MoneyFilter


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(field_name="category__slug")
    status = django_filters.ChoiceFilter(choices=ProductStatus.choices)
    # Bounded and patterned as the price itself (apps.core.money), in validation and schema.
    min_price = MoneyFilter(field_name="price", lookup_expr="gte")
    max_price = MoneyFilter(field_name="price", lookup_expr="lte")

    class Meta:
        model = Product
        fields = ["category", "status", "min_price", "max_price"]
