"""Telegram's flood limits as data, and the token bucket that paces against them.

Shared by the sender (which never wants a 429) and the fake Bot API (which answers 429 the way
Telegram does). The bucket is given the time rather than reading a clock, so it is pure.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's flood limits as token buckets: rates in messages per second, and the bursts
    allowed above them. Groups (and channels) also have a per-minute limit."""

    overall_rate: float = 30.0
    overall_burst: float = 30
    per_chat_rate: float = 1.0
    per_chat_burst: float = 5
    group_rate: float = 20 / 60
    group_burst: float = 5


# What Telegram tolerates (the Bot FAQ: ~30/s overall, 1/s per chat, 20/min per group, short
# bursts allowed); the fake Bot API enforces it.
TELEGRAM_FLOOD_LIMITS = FloodLimits()
# What the sender aims for: the same rates with smaller bursts, so it never earns a 429, while a
# quiet chat still gets a touchdown and its extra point at once.
SEND_PACING = FloodLimits(overall_burst=20, per_chat_burst=3, group_burst=3)


def is_group_chat(chat_id: str) -> bool:
    """Groups and channels have negative ids or @usernames; private chats have positive ids."""
    return chat_id.startswith(("-", "@"))


class Allowance:
    """One token bucket on the caller's clock readings (seconds, monotonic).

    `wait(now)` says how long until one message may go, without spending anything, so a sender
    that decides not to wait loses nothing; `take(now)` spends one token. The sender paces with
    it, and the fake Bot API refuses with it (Telegram answers 429 rather than queueing).
    """

    def __init__(self, rate: float, burst: float, now: float):
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.updated = now

    def wait(self, now: float) -> float:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        return 0.0 if self.tokens >= 1 else (1 - self.tokens) / self.rate

    def take(self, now: float) -> None:
        self.wait(now)
        self.tokens -= 1


def chat_allowances(chat_id: str, limits: FloodLimits, now: float) -> list[Allowance]:
    """The buckets one chat's messages must pass besides the overall one: per chat, and per
    group for groups and channels."""
    allowances = [Allowance(limits.per_chat_rate, limits.per_chat_burst, now)]
    if is_group_chat(chat_id):
        allowances.append(Allowance(limits.group_rate, limits.group_burst, now))
    return allowances
