"""The JSON API, ``/api/v1``: bearer tokens only, JSON errors in Dutch, and an OpenAPI 3.1
document generated from the same route table and pydantic models that serve requests,
so the document cannot drift from the code (a test also compares it with the URL map).

Persons, families, involvements, matches and notes behave as their HTML pages do and call
the same queries and operations: a person the caller's organisation may not know of
answers exactly like one that does not exist, and content comes only through the
privacy gate (``netwerk.content``).
"""

from netwerk.api import account, persons, plans  # noqa: F401  (registers their endpoints)
from netwerk.api.core import ENDPOINTS, bp, openapi_document

__all__ = ["ENDPOINTS", "bp", "openapi_document"]
