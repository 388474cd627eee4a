from typing import TYPE_CHECKING, Self

from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.db.models.functions import Coalesce

from apps.catalog.choices import ProductStatus
from apps.users.models import User

if TYPE_CHECKING:
    from apps.catalog.models import Product  # noqa: F401  (the string base class below)


class ProductQuerySet(models.QuerySet["Product"]):
    def published(self) -> Self:
        return self.filter(status=ProductStatus.PUBLISHED)

    def owned_by(self, user: User) -> Self:
        return self.filter(owner=user)

    def visible_to(self, user: User | AnonymousUser) -> Self:
        """Published products, plus the user's own drafts and archived ones."""
        if not user.is_authenticated:
            return self.published()
        return self.filter(models.Q(status=ProductStatus.PUBLISHED) | models.Q(owner=user))

    def with_review_stats(self) -> Self:
        """Review count and average rating, computed by the database in the same query.

        As correlated subqueries, not a JOIN with GROUP BY: PostgreSQL then computes them for
        the page's rows only, after ORDER BY and LIMIT, and the paginator's COUNT(*) needs
        no join. A GROUP BY would aggregate every visible product on every page.
        """
        reviews = (
            self.model._meta.get_field("reviews")
            .related_model._default_manager.filter(product=models.OuterRef("pk"))
            .order_by()
            .values("product")
        )
        return self.annotate(
            review_count=Coalesce(
                models.Subquery(reviews.annotate(count=models.Count("*")).values("count")), 0
            ),
            average_rating=models.Subquery(
                reviews.annotate(average=models.Avg("rating")).values("average")
            ),
        )
