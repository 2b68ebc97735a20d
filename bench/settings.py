"""Settings of the API benchmark's gunicorn: the registry's own, with the baseline views mounted."""

from registry.settings import *  # noqa: F403

ROOT_URLCONF = "bench.baseline"
