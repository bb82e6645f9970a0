"""The floor: a bare Django/DRF app doing only the irreducible work of `POST /api/messages` (issue 18):
a Bearer key looked up by its SHA-256 digest, serializer validation, one INSERT, one Redis LPUSH. No
middleware, no ORM models, no logging beyond Django's default. `make bench-api` runs it beside the product
on the same database, Redis and gunicorn settings; the ratio product / floor is the figure that matters."""

from __future__ import annotations

import environ

env = environ.Env()

SECRET_KEY = "bench-floor-only-" + "x" * 40
DEBUG = False
ALLOWED_HOSTS = ["*"]
INSTALLED_APPS = ["rest_framework"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "bench.floor.urls"
WSGI_APPLICATION = "bench.floor.wsgi.application"
DATABASES = {"default": {**env.db("DATABASE_URL"), "CONN_MAX_AGE": None}}
REDIS_URL = env("REDIS_URL")
USE_TZ = True
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "UNAUTHENTICATED_USER": None,
}
