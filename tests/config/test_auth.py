"""Registration and token login (docs/api.md, Auth)."""

import pytest
from django.contrib.auth import get_user_model
from knox.models import AuthToken
from rest_framework.test import APIClient

from tests.api_errors import assert_error, assert_validation_error
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
REGISTER = "/api/v1/auth/register/"
TOKEN = "/api/v1/auth/token/"
GOOD = {"username": "linh", "email": "linh@example.com", "password": "lantern-rice-harbour-42"}


def test_register_answers_201_with_a_working_token(api_client):
    response = api_client.post(REGISTER, GOOD, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"username", "email", "token"}
    assert (body["username"], body["email"]) == ("linh", "linh@example.com")
    user = User.objects.get(username="linh")
    assert not user.is_staff
    assert user.check_password(GOOD["password"])
    assert AuthToken.objects.get(user=user).token_key == body["token"][:15]
    # The token authenticates: a customer is recognised (403 on a staff endpoint, not 401).
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {body['token']}")
    assert_error(client.post("/api/v1/hotels/", {}, format="json"), 403, "permission_denied")


def test_the_password_is_never_echoed(api_client):
    response = api_client.post(REGISTER, GOOD, format="json")
    assert GOOD["password"] not in response.content.decode()


@pytest.mark.parametrize(
    "password",
    ["short1", "12345678901", "password", "linh@example.com"],
    ids=["too-short", "numeric", "common", "like-the-email"],
)
def test_weak_passwords_are_400(api_client, password):
    response = api_client.post(REGISTER, {**GOOD, "password": password}, format="json")
    errors = assert_validation_error(response, "password")
    assert {error["code"] for error in errors} == {"weak"}
    assert not User.objects.exists()


@pytest.mark.parametrize(
    "duplicate",
    [
        {"username": "linh"},
        {"username": "LINH"},
        {"email": "linh@example.com"},
        {"email": "Linh@Example.com"},
    ],
)
def test_duplicates_are_400(api_client, duplicate):
    UserFactory(username="linh", email="linh@example.com")
    body = {"username": "other", "email": "other@example.com", "password": GOOD["password"]}
    body.update(duplicate)
    response = api_client.post(REGISTER, body, format="json")
    errors = assert_validation_error(response, "non_field_errors")
    assert errors == [
        {
            "field": "non_field_errors",
            "code": "duplicate",
            "detail": "These details cannot be used to register; "
            "if you already have an account, sign in.",
        }
    ]
    assert User.objects.count() == 1


BAD_REGISTRATIONS = [
    ({"username": None}, "username"),
    ({"username": 42}, "username"),
    ({"username": "has spaces"}, "username"),
    ({"username": "x" * 151}, "username"),
    ({"email": "not-an-email"}, "email"),
    ({"email": None}, "email"),
    ({"password": None}, "password"),
    ({"password": 12345678}, "password"),
]


@pytest.mark.parametrize(("changes", "field"), BAD_REGISTRATIONS)
def test_bad_registrations_are_400(api_client, changes, field):
    body = {key: value for key, value in {**GOOD, **changes}.items() if value is not None}
    assert_validation_error(api_client.post(REGISTER, body, format="json"), field)
    assert not User.objects.exists()


def test_token_for_good_credentials(api_client):
    user = UserFactory(username="linh")
    response = api_client.post(
        TOKEN, {"username": "linh", "password": "correct-horse-battery"}, format="json"
    )
    assert response.status_code == 200
    assert set(response.json()) == {"token"}
    # Logging in again issues another token; both work.
    again = api_client.post(
        TOKEN, {"username": "linh", "password": "correct-horse-battery"}, format="json"
    )
    assert again.json()["token"] != response.json()["token"]
    assert AuthToken.objects.filter(user=user).count() == 2


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "linh", "password": "wrong-password"}, "non_field_errors"),
        ({"username": "nobody", "password": "correct-horse-battery"}, "non_field_errors"),
        ({"username": "linh"}, "password"),
        ({"password": "correct-horse-battery"}, "username"),
        ({"username": 1, "password": "correct-horse-battery"}, "username"),
    ],
)
def test_bad_credentials_are_400(api_client, body, field):
    UserFactory(username="linh")
    assert_validation_error(api_client.post(TOKEN, body, format="json"), field)
    assert not AuthToken.objects.exists()


def test_inactive_users_get_no_token(api_client):
    UserFactory(username="linh", is_active=False)
    body = {"username": "linh", "password": "correct-horse-battery"}
    assert_validation_error(api_client.post(TOKEN, body, format="json"), "non_field_errors")


@pytest.mark.parametrize("header", ["Token nope", "Token", "Bearer abc", "Token a b"])
def test_a_bad_token_is_401_with_the_token_challenge(api_client, header):
    api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.post("/api/v1/flights/", {}, format="json")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_a_bad_token_is_401_even_on_a_public_endpoint(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api_client.get("/api/v1/flights/")
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"] == "Token"


def test_auth_endpoints_only_take_post(api_client):
    for url in (REGISTER, TOKEN):
        assert_error(api_client.get(url), 405, "method_not_allowed")


@pytest.fixture
def tasks_run_in_place():
    """Celery runs each task where it is sent (its eager mode), so the mail a
    registration queues is in the outbox when the answer comes back."""
    from config.celery_app import app

    was = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = was


@pytest.mark.usefixtures("tasks_run_in_place")
def test_a_taken_username_and_a_taken_email_answer_exactly_alike(api_client, mailoutbox):
    UserFactory(username="linh", email="linh@example.com")
    password = GOOD["password"]
    by_username = api_client.post(
        REGISTER, {"username": "linh", "email": "new@example.com", "password": password}
    )
    by_email = api_client.post(
        REGISTER, {"username": "newcomer", "email": "LINH@example.com", "password": password}
    )
    assert by_username.status_code == by_email.status_code == 400
    assert by_username.content == by_email.content
    assert User.objects.count() == 1


@pytest.mark.usefixtures("tasks_run_in_place")
def test_the_owner_of_a_taken_email_is_told_by_mail(api_client, mailoutbox):
    UserFactory(username="linh", email="linh@example.com")
    password = GOOD["password"]
    api_client.post(
        REGISTER, {"username": "linh", "email": "new@example.com", "password": password}
    )
    assert mailoutbox == []  # a taken username alone tells nobody
    api_client.post(
        REGISTER, {"username": "newcomer", "email": "Linh@Example.com", "password": password}
    )
    (mail,) = mailoutbox
    assert mail.to == ["linh@example.com"]
    assert "tried to register" in mail.subject
    assert "linh" in mail.body
