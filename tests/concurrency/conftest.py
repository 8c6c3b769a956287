"""Races need committed data that other connections see: every test here is a
`transaction=True` test, and the inventory invariants (tests.invariants) are
checked after each one, on the committed data every racer saw."""

import pytest

from accounts.tokens import issue_token
from tests.factories import UserFactory
from tests.invariants import assert_inventory_consistent


@pytest.fixture
def make_customers(transactional_db):
    """`make_customers(n)`: n customers, as (user, token key) pairs."""

    def make(n: int) -> list[tuple]:
        users = UserFactory.create_batch(n)
        return [(user, issue_token(user)) for user in users]

    return make


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "unbalances_ledger: a control test that unbalances the books on purpose"
    )


@pytest.fixture(autouse=True)
def _inventory_consistent_after_the_race(request, transactional_db):
    """Whatever a race test asserts, the books must balance after it (checked
    before the database is flushed); the control tests, which unbalance them
    on purpose, opt out."""
    yield
    if "unbalances_ledger" not in request.keywords:
        assert_inventory_consistent()
