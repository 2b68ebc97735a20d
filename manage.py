#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys
from pathlib import Path

PROJECT_VENV_PYTHON = Path(__file__).resolve().parent / ".venv" / "bin" / "python"


def use_project_venv() -> None:
    """Run in the project's ``.venv`` (which ``make run`` creates) when started by a python outside any virtual
    environment, such as the system's: ``python manage.py ...`` then works without activating it.

    Any other virtual environment (an activated one, the Docker image's) is left alone. The check on the executable
    stops a ``.venv`` that is not a virtual environment after all from re-executing itself forever.
    """
    outside_any_venv = sys.prefix == sys.base_prefix
    if outside_any_venv and PROJECT_VENV_PYTHON.exists() and Path(sys.executable) != PROJECT_VENV_PYTHON:
        os.execv(PROJECT_VENV_PYTHON, [str(PROJECT_VENV_PYTHON), *sys.argv])


def main() -> None:
    """Run administrative tasks."""
    use_project_venv()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
