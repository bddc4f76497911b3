"""Ordering's policy, from the deployment's settings: which checkout flows callers may use,
how much a cart holds, and the guarded checkout's timings."""

import functools
from dataclasses import dataclass, field

from orderly.config import Settings
from orderly.kernel.principal import Principal
from orderly.ordering.domain import Channel


@dataclass(frozen=True)
class Channels:
    """Which checkout flows callers may use: `default` when they name none."""

    default: Channel = Channel.DIRECT
    consumer: frozenset[Channel] = frozenset({Channel.DIRECT, Channel.B2C, Channel.GUARDED})
    account: frozenset[Channel] = frozenset({Channel.B2B, Channel.DIRECT})
    # an account member's, when it names none: the first of `ORDERLY_ACCOUNT_CHANNELS`
    account_default: Channel = Channel.B2B


@dataclass(frozen=True)
class HoldLimits:
    """Units one cart may hold of one product. A customer has one open cart, so this bounds
    what one customer can keep from everyone else: a line may ask more, and is held up to
    this (its checkout still gets what ATP has then)."""

    consumer: int = 20
    # not hashed (a dict is not hashable); equal limits still hash alike
    segments: dict[str, int] = field(default_factory=dict, hash=False)

    def of(self, caller: Principal) -> int:
        """A B2B member's by its account's segment; anyone else's, or an unlisted segment's,
        the consumer limit."""
        if caller.account is not None and caller.segment in self.segments:
            return self.segments[caller.segment]
        return self.consumer


@dataclass(frozen=True)
class Timing:
    """The guarded checkout's saga step timeout and retries, how long its request waits for
    the outcome, and when its breaker opens (failures in a row) and for how long."""

    step_timeout: float = 30.0
    step_retries: int = 3
    wait: float = 5.0
    breaker_threshold: int = 5
    breaker_ttl: float = 10.0
    # the B2B checkout's waits for an approver and for a compliance analyst
    approval_timeout: float = 3 * 24 * 3600.0
    hold_timeout: float = 7 * 24 * 3600.0


@dataclass(frozen=True)
class OrderingPolicy:
    channels: Channels = Channels()
    hold_limits: HoldLimits = HoldLimits()
    timing: Timing = Timing()


@functools.cache
def policy(settings: Settings) -> OrderingPolicy:
    """`ORDERLY_DEFAULT_CHANNEL`, `ORDERLY_CHANNELS`, `ORDERLY_ACCOUNT_CHANNELS`,
    `ORDERLY_SOFT_HOLD_LIMIT(S)`, and the guarded checkout's `ORDERLY_SAGA_*`,
    `ORDERLY_CHECKOUT_WAIT` and `ORDERLY_BREAKER_*`."""
    return OrderingPolicy(
        channels=Channels(
            default=Channel(settings.default_channel),
            consumer=frozenset(Channel(c) for c in settings.channels),
            account=frozenset(Channel(c) for c in settings.account_channels),
            account_default=Channel(settings.account_channels[0]),
        ),
        hold_limits=HoldLimits(settings.soft_hold_limit, settings.hold_limits()),
        timing=Timing(
            step_timeout=settings.saga_step_timeout,
            step_retries=settings.saga_step_retries,
            wait=settings.checkout_wait,
            breaker_threshold=settings.breaker_threshold,
            breaker_ttl=settings.breaker_ttl,
            approval_timeout=settings.approval_timeout,
            hold_timeout=settings.hold_timeout,
        ),
    )
