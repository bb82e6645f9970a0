"""Settings for the test suite: the machine's PostgreSQL and Redis, quiet logs. Everything else is tuco.settings.

Environment variables still win, so a helper or CI can point the suite at
another database (`DATABASE_URL=…/tuco_other`) or Redis db.
"""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tuco")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")  # each xdist worker moves to its own db (conftest)
os.environ.setdefault("TUCO_LOG_LEVEL", "WARNING")
# A test-only key (public: it protects nothing). The e2e harness hands the same one to its processes.
os.environ.setdefault("TUCO_ENCRYPTION_KEYS", "sGnc5xQ2Fowp6C5lzm4FSXMyx08RmXA5QCpGSg-YAc4=")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-" + "x" * 40)
# Receivers, the relay simulator and file servers of the tests listen on 127.0.0.1; SSRF tests turn it off.
os.environ.setdefault("TUCO_ALLOW_PRIVATE_URLS", "true")

from tuco.settings import *  # noqa: F403
