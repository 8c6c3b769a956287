"""Assertions on the API's error bodies (docs/api.md, Errors)."""


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"], body
    return body


def assert_validation_error(response, *fields: str) -> list[dict]:
    """A 400 `validation_error` naming each of `fields` in `errors`."""
    body = assert_error(response, 400, "validation_error")
    errors = body["errors"]
    assert errors, body
    for error in errors:
        assert set(error) == {"field", "code", "detail"}, error
    named = {error["field"] for error in errors}
    for field in fields:
        assert field in named, (field, errors)
    return errors
