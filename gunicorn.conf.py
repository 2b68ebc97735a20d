"""Gunicorn settings: where to listen and how many workers, from the environment; JSON log lines."""

import os

bind = os.environ.get("WEB_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("WEB_THREADS", "4"))
# Nothing here uses gunicornc; its control socket would otherwise go to one fixed path in the home
# folder ($HOME/.gunicorn/gunicorn.ctl), shared by every instance on the host.
control_socket_disable = True
# The app writes its own access line with the request id; gunicorn's would repeat it without one.
accesslog = None
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(process)d",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
            "datefmt": "%Y-%m-%dT%H:%M:%S%z",
        }
    },
    # The names gunicorn's own defaults refer to, so its root logger configures too.
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json"},
        "error_console": {"class": "logging.StreamHandler", "formatter": "json"},
    },
    "loggers": {"gunicorn.error": {"handlers": ["error_console"], "level": "INFO", "propagate": False}},
}
