"""A token bucket per client: a steady rate with bursts, and 429 with Retry-After beyond it.

Kept in memory: with several gateway replicas each enforces its share.
"""

from __future__ import annotations

import math
import time

from shared.errors import FhirError


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}

    def check(self, client: str) -> None:
        now = time.monotonic()
        tokens, stamp = self._buckets.get(client, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - stamp) * self.rate)
        if tokens < 1.0:
            wait = math.ceil((1.0 - tokens) / self.rate)
            self._buckets[client] = (tokens, now)
            raise FhirError(
                429,
                f"Too many requests from {client}; try again in {wait} s",
                code="throttled",
                headers={"Retry-After": str(wait)},
            )
        self._buckets[client] = (tokens - 1.0, now)
