from django.db import models
from django.db.models.functions import Now


class TimeStampedModel(models.Model):
    """Abstract base for every domain model: creation and update times set by the database.

    `db_default=Now()` lets rows inserted outside the ORM (bulk loads, SQL fixes) get a
    timestamp too; `auto_now` keeps `updated_at` current on every `save()`.
    """

    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
