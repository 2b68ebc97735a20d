"""How the API reads bodies and picks formats: JSON errors that say where the body broke, and
``?format=`` for the schema only (elsewhere it is an ordinary filter, such as an artifact's format)."""

import json
from typing import Any

from rest_framework import exceptions, parsers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.utils.json import strict_constant


# Not in api.errors, which handles it: importing that here would be circular (DRF's views load this module).
class MalformedBody(exceptions.ParseError):
    """A body that is not what its Content-Type says, with where it broke as problem members
    (``line``, ``column``, ``position``), so a client can point at the offending character."""

    def __init__(self, detail: str, **location: int) -> None:
        super().__init__(detail)
        self.location = location


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, whose error gives the line, column and character position where parsing stopped."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: dict[str, Any] | None = None) -> Any:
        encoding = parsers.get_encoding(parser_context or {})
        # Decoded whole rather than as a stream, so a bad byte has a position too; the body is
        # already in memory (DRF reads it through request.body, bounded by MAX_REQUEST_BYTES).
        raw = stream.read()
        try:
            text = raw.decode(encoding)
        except UnicodeDecodeError as exc:
            raise MalformedBody(f"the body is not valid {encoding} at byte {exc.start}", position=exc.start) from exc
        try:
            return json.loads(text, parse_constant=strict_constant if self.strict else None)
        except json.JSONDecodeError as exc:
            raise MalformedBody(
                f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno} (character {exc.pos})",
                line=exc.lineno,
                column=exc.colno,
                position=exc.pos,
            ) from exc
        except ValueError as exc:  # NaN or Infinity, which strict JSON refuses
            raise MalformedBody(f"the body is not valid JSON: {exc}") from exc


class FormatParameterNegotiation(DefaultContentNegotiation):
    """``?format=`` chooses the renderer, as DRF's URL_FORMAT_OVERRIDE would, for the one view that
    uses it (``/api/schema/?format=json``); the setting is off so the API's own ``format`` filters work."""

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return super().select_renderer(request, renderers, format_suffix or request.query_params.get("format"))
