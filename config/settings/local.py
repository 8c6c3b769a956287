"""A developer's machine: `make run` and `manage.py` from the checkout."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DEBUG", default=True)
