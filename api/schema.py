"""OpenAPI additions: every operation documents its problem+json error responses."""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension

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

_ERRORS = {
    "400": "Invalid input: `errors` names each field",
    "401": "Missing, unknown, revoked or expired credentials",
    "403": "The caller's role does not allow this",
    "404": "No such object",
    "412": "If-Match does not match the current ETag",
    "413": "The request body is too large",
    "415": "The request body is not JSON",
    "428": "If-Match is required",
    "429": "Too many requests: see Retry-After",
}
_READS = ("401", "403", "404", "429")
_WRITES = ("400", "401", "403", "404", "413", "415", "429")


def add_problem_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook."""
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
    reference = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            codes = _READS if method == "get" else _WRITES
            if method == "patch":
                codes = (*codes, "412", "428")
            responses = operation.setdefault("responses", {})
            for code in codes:
                if code == "404" and "{" not in path:
                    continue
                responses.setdefault(code, {"description": _ERRORS[code], "content": reference})
    return result


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """Documents ``Authorization: Bearer <token>`` in the schema."""

    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "an API token from manage.py create_token"}
