"""Renderers for routes that answer with a file: a client may ask for the file's type in ``Accept``
(the file itself is a Django response that no renderer touches), and an error on such a route still
answers problem+json, as the JSON renderer writes it."""

from rest_framework.renderers import JSONRenderer


class OctetStreamOrProblem(JSONRenderer):
    """For downloads of uploaded files."""

    media_type = "application/octet-stream"
    format = "bin"


class CsvOrProblem(JSONRenderer):
    """For CSV exports."""

    media_type = "text/csv"
    format = "csv"
