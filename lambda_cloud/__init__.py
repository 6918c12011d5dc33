"""The Lambda Cloud API client: no Pulumi in it, so it is usable and testable on its own.

`client` talks to the API, `limiter` paces launches across threads, `errors` turns the API's error codes into
exceptions that say what to fix. The Pulumi side is components/lambda_instance.py, a dynamic provider.
"""

from lambda_cloud.client import (
    DEFAULT_BASE_URL,
    DEFAULT_LAUNCH_INTERVAL_S,
    DEFAULT_POLL_INTERVAL_S,
    DEFAULT_REQUEST_TIMEOUT_S,
    ENDED_STATUSES,
    MAX_INSTANCE_NAME_LENGTH,
    MAX_USER_DATA_BYTES,
    LambdaCloudClient,
    unique_instance_name,
)
from lambda_cloud.errors import (
    AccountInactiveError,
    DuplicateInstanceNameError,
    FirewallRulesetInUseError,
    InstanceFailedError,
    InstanceStatusTimeoutError,
    InsufficientCapacityError,
    InvalidApiKeyError,
    InvalidParametersError,
    LambdaCloudError,
    LaunchOutcomeUnknownError,
    ObjectNotFoundError,
    QuotaExceededError,
    RateLimitedError,
    ServerError,
    TransportError,
)
from lambda_cloud.limiter import LaunchRateLimiter, shared_launch_limiter

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_LAUNCH_INTERVAL_S",
    "DEFAULT_POLL_INTERVAL_S",
    "DEFAULT_REQUEST_TIMEOUT_S",
    "ENDED_STATUSES",
    "MAX_INSTANCE_NAME_LENGTH",
    "MAX_USER_DATA_BYTES",
    "AccountInactiveError",
    "DuplicateInstanceNameError",
    "FirewallRulesetInUseError",
    "InstanceFailedError",
    "InstanceStatusTimeoutError",
    "InsufficientCapacityError",
    "InvalidApiKeyError",
    "InvalidParametersError",
    "LambdaCloudClient",
    "LambdaCloudError",
    "LaunchOutcomeUnknownError",
    "LaunchRateLimiter",
    "ObjectNotFoundError",
    "QuotaExceededError",
    "RateLimitedError",
    "ServerError",
    "TransportError",
    "shared_launch_limiter",
    "unique_instance_name",
]
