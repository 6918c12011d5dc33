"""Lambda Cloud instance tags: the keys the stack sets on its instances, and what the API accepts.

Lambda Cloud API 1.10.0, `InstanceLaunchRequest.tags` items are `RequestedTagEntry`: `key` and `value` are
both required strings; `key` matches `^[a-z][a-z0-9-:]+$` (a lower-case letter, then at least one lower-case
letter, digit, `-` or `:`) and has at most 55 characters; `value` has at most 128. The API answers any other
tag with 400 `global/invalid-parameters`, and launches nothing. Kubernetes label keys such as
`sophia.ai/gpu-pool` do not fit (`.` and `/` are outside the key alphabet), so the tags spell the project's
prefix `sophia-ai:`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

MAX_TAG_KEY_LENGTH = 55
MAX_TAG_VALUE_LENGTH = 128
# The spec's pattern, matched against the whole key (a `$` in Python would also let a trailing newline in).
_TAG_KEY = re.compile(r"[a-z][a-z0-9\-:]+")

GPU_POOL_TAG = "sophia-ai:gpu-pool"
MANAGED_BY_TAG = "managed-by"
MANAGED_BY_VALUE = "pulumi"


class InvalidTag(ValueError):
    """A tag the Lambda API would refuse; the message names the tag and the rule it breaks."""


def tag_problems(tags: Mapping[str, str]) -> list[str]:
    """Every reason the Lambda API would refuse these tags, one line per broken rule (empty when fine)."""
    problems = []
    for key, value in tags.items():
        if not isinstance(key, str) or not _TAG_KEY.fullmatch(key):
            problems.append(
                f"tag key {key!r} must start with a lower-case letter followed by at least one lower-case "
                "letter, digit, '-' or ':' (Lambda's ^[a-z][a-z0-9-:]+$), e.g. sophia-ai:gpu-pool"
            )
        elif len(key) > MAX_TAG_KEY_LENGTH:
            problems.append(f"tag key {key!r} is {len(key)} characters; Lambda allows {MAX_TAG_KEY_LENGTH}")
        if not isinstance(value, str):
            problems.append(f"tag {key!r} has the value {value!r}; Lambda tag values are strings")
        elif len(value) > MAX_TAG_VALUE_LENGTH:
            problems.append(
                f"tag {key!r} has a value of {len(value)} characters; Lambda allows {MAX_TAG_VALUE_LENGTH}"
            )
    return problems


def check_tags(tags: Mapping[str, str]) -> None:
    """Raise `InvalidTag` listing every problem when the Lambda API would refuse these tags."""
    problems = tag_problems(tags)
    if problems:
        raise InvalidTag("; ".join(problems))


def gpu_pool_tags(pool: str) -> dict[str, str]:
    """The tags of every instance of GPU pool `pool`: which pool it serves, and that Pulumi manages it."""
    tags = {GPU_POOL_TAG: pool, MANAGED_BY_TAG: MANAGED_BY_VALUE}
    check_tags(tags)
    return tags
