"""Experiment only (pipeline.py --db-reuse): tuco.settings plus CELERY_DB_REUSE_MAX.

Celery's Django fixup closes every database connection before and after each task unless
CELERY_DB_REUSE_MAX is set, so each task opens a new PostgreSQL connection. This module measures
what keeping them would change, without touching the app's settings.
"""

from tuco.settings import *  # noqa: F403

CELERY_DB_REUSE_MAX = 1000
