from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView

from apps.core.docs import RedocView, SwaggerView
from apps.core.views import healthz, readyz

api_v1: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SwaggerView.as_view(url_name="api-v1:schema"), name="swagger-ui"),
    path("redoc/", RedocView.as_view(url_name="api-v1:schema"), name="redoc"),
    path("users/", include("apps.users.urls")),
]

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", include((api_v1, "api-v1"))),
]
