"""Injected failures: what the emulator answers instead of running a method."""

from __future__ import annotations

import math
from dataclasses import dataclass

ANY_METHOD = "*"
#: The method name under which faults apply to posts to `response_url`s (Slack's webhooks).
RESPONSE_URL = "response_url"

# The error names Slack puts in the body of its own 5xx answers.
SERVER_ERRORS = {500: "internal_error", 502: "internal_error", 503: "service_unavailable"}


@dataclass
class Fault:
    """Answer `status` (with `error`, and `Retry-After` for 429) to the next `times` calls of
    `method`, once `after` calls of it went through; `times=None` keeps failing until the
    fault is cleared."""

    method: str
    status: int
    error: str
    retry_after: int | None = None
    times: int | None = 1
    after: int = 0


class FaultPlan:
    """Pending faults in the order they were added, and per-method latency.

    Not locked itself: the emulator calls it under its lock.
    """

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self.latency: dict[str, float] = {}
        self._limited_until: dict[str, float] = {}  # method -> end of its Retry-After window

    def add(self, fault: Fault) -> None:
        self._faults.append(fault)

    def take(self, method: str, now: float) -> Fault | None:
        """The fault that applies to this call at `now`, counting it as used. As on Slack, a
        call made before a 429's `Retry-After` has passed is rate-limited again."""
        until = self._limited_until.get(method, 0.0)
        if now < until:
            return Fault(method, 429, "ratelimited", math.ceil(until - now), None)
        for fault in self._faults:
            if fault.method in (method, ANY_METHOD):
                if fault.after > 0:  # this call still goes through
                    fault.after -= 1
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self._faults.remove(fault)
                if fault.status == 429 and fault.retry_after:
                    self._limited_until[method] = now + fault.retry_after
                return fault
        return None

    def delay_for(self, method: str) -> float:
        return self.latency.get(method, self.latency.get(ANY_METHOD, 0.0))

    def clear(self) -> None:
        self._faults.clear()
        self.latency.clear()
        self._limited_until.clear()
