"""The registry's command-line client for deploy pipelines (``mpr``): standard library only.

This is the one package ``pip install`` of the project installs (pyproject.toml): the Django apps are
never installed as packages, so nothing here may import them, Django or any other dependency.
"""
