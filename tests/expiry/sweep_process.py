"""One sweep in its own process, for the tests: prints `ready`, waits for a
line on stdin (the start signal all processes get together), runs
`expire_overdue_holds` and prints how many it expired."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from bookings import services  # noqa: E402

print("ready", flush=True)
sys.stdin.readline()
print(services.expire_overdue_holds(batch_size=int(sys.argv[1])), flush=True)
