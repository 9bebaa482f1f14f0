"""ECS's errors as the awsJson1.1 protocol sends them: ``{"__type": code, "message": text}``.

Every client error is a 4xx (SDKs retry 5xx, so a 500 for bad input turns into minutes of
retries, the peers' most common complaint); only an unexpected failure is a 500
``ServerException``, ECS's one error with ``fault: true``.
"""

from __future__ import annotations

from typing import Any


class EcsApiError(Exception):
    """An ECS error: the code botocore maps to an exception class, and the HTTP status."""

    def __init__(
        self, code: str, message: str, status: int = 400, members: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        #: the error shape's other members (ConflictException's ``resourceIds``)
        self.members = members or {}

    def body(self) -> dict[str, Any]:
        return {"__type": self.code, "message": self.message, **self.members}


def client_error(message: str) -> EcsApiError:
    return EcsApiError("ClientException", message)


def invalid_parameter(message: str) -> EcsApiError:
    return EcsApiError("InvalidParameterException", message)


def cluster_not_found(message: str = "Cluster not found.") -> EcsApiError:
    return EcsApiError("ClusterNotFoundException", message)


def service_not_found(message: str = "Service not found.") -> EcsApiError:
    return EcsApiError("ServiceNotFoundException", message)


def conflict(message: str, resource_ids: list[str]) -> EcsApiError:
    return EcsApiError("ConflictException", message, members={"resourceIds": resource_ids})


#: the code of a request refused by RBAC
ACCESS_DENIED = "AccessDeniedException"


def access_denied(message: str) -> EcsApiError:
    return EcsApiError(ACCESS_DENIED, message)


def throttled() -> EcsApiError:
    """Too many calls: ECS's answer (400, a code the SDKs retry after a throttling backoff)."""
    return EcsApiError("ThrottlingException", "Rate exceeded")


def server_error(message: str) -> EcsApiError:
    return EcsApiError("ServerException", message, 500)


# Authentication (the request never reaches an operation): 403, as AWS answers them.
def missing_token() -> EcsApiError:
    return EcsApiError(
        "MissingAuthenticationTokenException", "Missing Authentication Token", status=403
    )


def incomplete_signature(message: str) -> EcsApiError:
    return EcsApiError("IncompleteSignatureException", message, status=403)


def invalid_signature(message: str) -> EcsApiError:
    return EcsApiError("InvalidSignatureException", message, status=403)


def unrecognized_client() -> EcsApiError:
    return EcsApiError(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
        status=403,
    )
