"""API tokens (docs/api.md, Auth): stored only as digests, expiring, revoked by
DELETE /api/v1/auth/token/ and by a password change, and checked with one
query and no write on every request."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken
from rest_framework.test import APIClient, APIRequestFactory

from accounts.tokens import issue_token
from config.api.authentication import TokenAuthentication
from tests.api_errors import assert_error
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TOKEN = "/api/v1/auth/token/"
MINE = "/api/v1/bookings/"


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def assert_refused(response, detail_says: str | None = None):
    body = assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"
    if detail_says:
        assert detail_says in body["detail"], body


def test_the_database_keeps_only_a_digest_of_the_token():
    user = UserFactory()
    token = issue_token(user)
    with connection.cursor() as cursor:
        cursor.execute("SELECT digest, token_key FROM knox_authtoken WHERE user_id = %s", [user.pk])
        ((digest, key),) = cursor.fetchall()
    assert token not in digest and len(digest) == 128
    assert len(key) < len(token) // 4  # a prefix to find it, not the secret
    assert client_with(token).get(MINE).status_code == 200


def test_a_token_expires_token_ttl_hours_after_it_was_issued(settings):
    assert settings.TOKEN_TTL_HOURS == 720
    token = issue_token(UserFactory())
    expiry = AuthToken.objects.get().expiry
    created = AuthToken.objects.get().created
    assert expiry - created == pytest.approx(timedelta(hours=720), abs=timedelta(seconds=5))
    AuthToken.objects.update(expiry=AuthToken.objects.get().created - timedelta(seconds=1))
    assert_refused(client_with(token).get(MINE), detail_says="expired")


def test_logout_revokes_the_token_presented_at_once_and_only_it():
    user = UserFactory()
    leaving, staying = issue_token(user), issue_token(user)
    client = client_with(leaving)
    response = client.delete(TOKEN)
    assert response.status_code == 204, response.content
    assert_refused(client.get(MINE))
    assert_refused(client.delete(TOKEN))
    assert client_with(staying).get(MINE).status_code == 200


def test_logout_without_a_token_is_401(api_client):
    assert_refused(api_client.delete(TOKEN))


def test_a_stale_token_does_not_stop_a_login():
    UserFactory(username="linh")
    client = client_with("0" * 64)
    response = client.post(TOKEN, {"username": "linh", "password": "correct-horse-battery"})
    assert response.status_code == 200
    assert client_with(response.json()["token"]).get(MINE).status_code == 200


def test_a_password_change_revokes_every_token_of_the_account():
    user, other = UserFactory(), UserFactory()
    tokens = [issue_token(user), issue_token(user)]
    others = issue_token(other)
    user.set_password("a-whole-new-secret-77")
    user.save()
    for token in tokens:
        assert_refused(client_with(token).get(MINE))
    assert client_with(others).get(MINE).status_code == 200
    # Other saves of the account leave its tokens alone.
    fresh = issue_token(user)
    user.first_name = "Linh"
    user.save()
    assert client_with(fresh).get(MINE).status_code == 200


def test_checking_a_token_is_one_query_and_writes_nothing():
    user = UserFactory()
    token = issue_token(user)
    issue_token(user)  # another token: knox's own check would read them all
    AuthToken.objects.create(user, expiry=timedelta(seconds=-1))  # and delete this one
    request = APIRequestFactory().get(MINE, HTTP_AUTHORIZATION=f"Token {token}")
    with CaptureQueriesContext(connection) as queries:
        found, auth_token = TokenAuthentication().authenticate(request)
    assert found == user
    assert len(queries) == 1, [q["sql"] for q in queries]
    assert queries[0]["sql"].startswith("SELECT")
    assert AuthToken.objects.filter(user=user).count() == 3


@pytest.mark.parametrize("header", ["Token nope", "Token \u00e9t\u00e9", "Token " + "f" * 64])
def test_unknown_or_malformed_tokens_are_401(api_client, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    assert_refused(api_client.get(MINE))
