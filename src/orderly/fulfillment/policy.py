"""How this deployment's warehouse works, from its settings."""

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from orderly.config import Settings
from orderly.fulfillment.picking import ShortPolicy
from orderly.fulfillment.waves import WaveRules

ZONE = "main"  # one pick zone per distribution centre, until products name theirs


@dataclass(frozen=True)
class FulfillmentPolicy:
    carrier: str
    cutoff: time  # UTC
    waves: WaveRules
    short: ShortPolicy
    floor_wait: float
    ship_wait: float
    delivery_wait: float
    wms_url: str = ""  # an external WMS's, or none: Orderly's own floor
    wms_timeout: float = 5.0
    # seconds an operator's release of a backorder waits for inventory's reservation
    release_wait: float = 10.0
    # backorders released as their product's stock is received, oldest first
    auto_release: bool = True

    @property
    def external(self) -> bool:
        return bool(self.wms_url)

    def next_cutoff(self, now: datetime) -> datetime:
        """The carrier's next collection at or after `now`."""
        today = datetime.combine(now.astimezone(UTC).date(), self.cutoff, tzinfo=UTC)
        return today if today >= now else today + timedelta(days=1)


def policy(settings: Settings) -> FulfillmentPolicy:
    hour, minute = (int(part) for part in settings.carrier_cutoff.split(":"))
    return FulfillmentPolicy(
        carrier=settings.carrier,
        cutoff=time(hour, minute),
        waves=WaveRules(settings.wave_max_lines, settings.wave_max_units),
        short=ShortPolicy(settings.short_pick),
        floor_wait=settings.floor_wait,
        ship_wait=settings.ship_wait,
        delivery_wait=settings.delivery_wait,
        wms_url=settings.wms_url,
        wms_timeout=settings.wms_timeout,
        auto_release=settings.backorder_release == "auto",
    )
