"""The OpenAPI document and the page that browses it: valid for a maintained validator,
complete (every operation documents its answers, errors included), and /docs loads with
nothing from the internet."""

from __future__ import annotations

import re

from openapi_spec_validator import validate

from nexus.web.apidocs import TAGS

PUBLIC = {("post", "/api/v1/auth/login")}


async def document(server) -> dict:
    response = await server.request("GET", "/openapi.json")
    assert response.status == 200
    return response.body


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield method, path, operation


async def test_the_document_is_valid_openapi(chat_server):
    spec = await document(chat_server)
    validate(spec)  # raises on the first violation of the OpenAPI 3.1 schema
    assert spec["openapi"].startswith("3.1")


async def test_every_operation_documents_success_and_errors_with_the_error_schema(chat_server):
    spec = await document(chat_server)
    error = spec["components"]["schemas"]["ErrorBody"]
    assert error["properties"]["error"]["$ref"].endswith("/ErrorDetail")
    detail = spec["components"]["schemas"]["ErrorDetail"]
    assert detail["properties"]["details"]["items"]["$ref"].endswith("/Problem")
    for method, path, operation in operations(spec):
        responses = operation["responses"]
        assert responses, f"{method} {path} documents no response"
        if path.startswith("/api/"):
            assert any(status.startswith("2") for status in responses), f"{method} {path}: no success"
            errors = [status for status in responses if status.startswith(("4", "5"))]
            assert errors, f"{method} {path} documents no error"
            for status in errors:
                schema = responses[status]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorBody"}, (method, path, status)
            if (method, path) not in PUBLIC:
                assert "401" in responses, f"{method} {path} needs a token but does not say 401"
        assert all(response.get("description") for response in responses.values())


async def test_path_parameters_are_the_ones_in_the_path(chat_server):
    spec = await document(chat_server)
    for method, path, operation in operations(spec):
        in_path = set(re.findall(r"\{(\w+)\}", path))
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == in_path, f"{method} {path} declares {declared}"
    assert "/webhooks/{type_name}/{name}/{subpath}" in spec["paths"]
    ticket_id = next(p for p in spec["paths"]["/api/v1/tickets/{ticket_id}"]["get"]["parameters"])
    assert ticket_id["schema"] == {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}


async def test_login_and_webhooks_need_no_bearer_token_and_the_rest_does(chat_server):
    spec = await document(chat_server)
    assert spec["security"] == [{"bearer": []}]
    for method, path, operation in operations(spec):
        public = (method, path) in PUBLIC or path.startswith("/webhooks/")
        assert (operation.get("security") == []) == public, f"{method} {path}"


async def test_operations_are_grouped_by_tag_with_one_line_summaries(chat_server):
    spec = await document(chat_server)
    assert [tag["name"] for tag in spec["tags"]] == ["session", "tickets", "contacts", "admin", "operations", "webhooks"]
    assert spec["tags"] == TAGS
    seen = set()
    for method, path, operation in operations(spec):
        (tag,) = operation["tags"]
        seen.add(tag)
        summary = operation.get("summary", "")
        assert summary and "\n" not in summary, f"{method} {path}: {summary!r}"
        assert summary[0].isupper() and summary.endswith("."), f"{method} {path}: not a whole sentence: {summary!r}"
    assert seen == {tag["name"] for tag in TAGS}
    tags = {path: item["get"]["tags"] for path, item in spec["paths"].items() if "get" in item}
    assert tags["/api/v1/me"] == ["session"] and tags["/api/v1/contacts"] == ["contacts"]
    assert tags["/api/v1/teams"] == ["admin"] and tags["/api/v1/deliveries"] == ["operations"]


async def test_the_docs_page_works_offline(chat_server):
    page = await chat_server.request("GET", "/docs")
    assert page.status == 200 and page.headers["Content-Type"].startswith("text/html; charset=utf-8")
    html = page.body
    assert html.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in html
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert urls and all(url.startswith("/") for url in urls), f"a URL that leaves the server: {urls}"
    assert 'data-openapi="/openapi.json"' in html
    for url in urls:
        asset = await chat_server.request("GET", url)
        assert asset.status == 200, url
    bundle = await chat_server.request("GET", "/docs/assets/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in bundle.body and bundle.headers["Content-Type"].startswith("text/javascript")
    licence = await chat_server.request("GET", "/docs/assets/LICENSE")
    assert "Apache License" in licence.body
    assert (await chat_server.request("GET", "/docs/assets/swagger-editor-bundle.js")).status == 404
