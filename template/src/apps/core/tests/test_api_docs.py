from django.test import Client


def test_openapi_schema_is_served(client: Client) -> None:
    response = client.get("/api/v1/schema/")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert b"/api/v1/users/me/" in response.content


def test_swagger_page_loads_local_assets_under_its_own_policy(client: Client) -> None:
    response = client.get("/api/v1/docs/")

    assert response.status_code == 200
    assert (
        b"/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in response.content
    )
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "unsafe-eval" not in policy


def test_swagger_init_script_is_served_as_a_file(client: Client) -> None:
    response = client.get("/api/v1/docs/?script=")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")


def test_other_pages_keep_the_strict_policy(client: Client) -> None:
    response = client.get("/healthz")

    policy = response["Content-Security-Policy"]
    assert policy.startswith("default-src 'none'")
    assert "unsafe-inline" not in policy
