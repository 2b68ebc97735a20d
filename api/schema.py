"""OpenAPI additions, so the schema states what the API checks: every operation's problem+json error
responses, query parameters that may be empty, the bounds of number filters, request bodies that
refuse unknown fields and blank text."""

from typing import Any

from drf_spectacular.contrib.django_filters import DjangoFilterExtension
from drf_spectacular.extensions import OpenApiAuthenticationExtension, OpenApiSerializerExtension
from rest_framework import serializers

PROBLEM_SCHEMA = {
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "one item per invalid input (400 only)",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                "required": ["field", "message"],
            },
        },
    },
    "required": ["type", "title", "status", "detail"],
}

NO_NUL = "^[^\u0000]*$"

_ERRORS = {
    "400": "Invalid input: `errors` names each invalid field or query parameter (unknown ones included)",
    "401": "Missing, unknown, revoked or expired credentials",
    "403": "The caller's role or team does not allow this",
    "404": "No such object",
    "406": "The client accepts no JSON",
    "412": "If-Match does not match the current ETag",
    "413": "The request body is too large",
    "415": "The request body is not JSON",
    "428": "If-Match is required",
    "429": "Too many requests: see Retry-After",
}


def _error_codes(path: str, operation: dict[str, Any]) -> list[str]:
    """The errors an operation can answer: every one may be refused (401, 403, 406, 429) and checks its
    query parameters (400); one with an id in its path may find nothing (404); one with a body may get
    one too large or not JSON (413, 415); one that takes If-Match may be stale or lack it (412, 428)."""
    codes = ["400", "401", "403", "406", "429"]
    if "{" in path:
        codes.append("404")
    if "requestBody" in operation:
        codes += ["413", "415"]
    if any(
        parameter["in"] == "header" and parameter["name"] == "If-Match" for parameter in operation.get("parameters", [])
    ):
        codes += ["412", "428"]
    return codes


def add_problem_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the problem+json error responses of every operation, and
    its query parameters marked as allowed empty (an empty filter or page parameter is no filter)
    and, for text ones, free of NUL characters."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in result.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code in _error_codes(path, operation):
                responses.setdefault(code, {"description": _ERRORS[code], "content": reference})
            for parameter in operation.get("parameters", []):
                if parameter["in"] == "query":
                    parameter["allowEmptyValue"] = True
                    if set(parameter["schema"]) == {"type"} and parameter["schema"]["type"] == "string":
                        parameter["schema"]["pattern"] = NO_NUL  # Django's text form fields refuse NUL
    return result


class BoundedFilters(DjangoFilterExtension):
    """django-filter's parameters, with the ``min_value`` / ``max_value`` of number filters as bounds."""

    priority = 1

    def resolve_filter_field(
        self, auto_schema: Any, model: Any, filterset_class: Any, field_name: str, filter_field: Any
    ) -> list[dict[str, Any]]:
        parameters = super().resolve_filter_field(auto_schema, model, filterset_class, field_name, filter_field)
        bounds = {"minimum": filter_field.extra.get("min_value"), "maximum": filter_field.extra.get("max_value")}
        for parameter in parameters:
            parameter["schema"].update({key: value for key, value in bounds.items() if value is not None})
        return parameters


def _non_blank(field: serializers.Field) -> bool:
    return isinstance(field, serializers.CharField) and not field.allow_blank


class StrictInput(OpenApiSerializerExtension):
    """Request bodies of ``api.inputs.StrictSerializer``: unknown fields are refused, and so is blank text
    where the field does not allow it (drf-spectacular says neither by itself)."""

    target_class = "api.inputs.StrictSerializer"
    match_subclasses = True

    def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer(self.target, direction, bypass_extensions=True)
        schema["additionalProperties"] = False
        for name, field in self.target.fields.items():
            if _non_blank(field):
                schema["properties"][name]["minLength"] = 1
            elif isinstance(field, serializers.ListField) and _non_blank(field.child):
                schema["properties"][name]["items"]["minLength"] = 1
        return schema


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Bearer <token>`` in the schema."""

    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "an API token from manage.py create_token"}
