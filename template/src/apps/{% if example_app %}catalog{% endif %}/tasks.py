import logging

from django.core.mail import send_mail
from django.tasks import task

from apps.catalog.models import Product

logger = logging.getLogger(__name__)


@task
def notify_product_published(*, product_id: int) -> None:
    """Tell the owner their product is live. Runs after the publishing transaction commits."""
    product = Product.objects.select_related("owner").get(pk=product_id)
    send_mail(
        subject=f"“{product.name}” is published",
        message=f"Your product “{product.name}” is now visible to everyone.",
        from_email=None,
        recipient_list=[product.owner.email],
    )
    logger.info("Sent the publication notice for product %s", product_id)
