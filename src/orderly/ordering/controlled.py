"""Controlled substances: who may buy a product with a DEA schedule (pharma rules §3).

A product's schedule is the catalog's (`CII`..`CV`, from the NDC directory). A DEA
registration lists the schedules it covers as `2`, `2N`, `3`, `3N`, `4`, `5`, where `N` is the
non-narcotic half of schedules II and III. The catalog does not say whether a CII or CIII
product is a narcotic, so a registration covers such a product only if it holds both halves
(`2` and `2N`; `3` and `3N`): a sale is never made on a guess. A CII product also needs the
account to be allowed to order schedule II (its CSOS enrolment, `canOrderScheduleII`).
A buyer without a registration (every consumer) buys no scheduled product.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from orderly.kernel.errors import OrderlyError

# The registration schedules a product of each DEA schedule needs, all of them.
NEEDS: dict[str, frozenset[str]] = {
    "CII": frozenset({"2", "2N"}),
    "CIII": frozenset({"3", "3N"}),
    "CIV": frozenset({"4"}),
    "CV": frozenset({"5"}),
}


@dataclass(frozen=True)
class Registration:
    """An account's DEA registration, as identity keeps it now."""

    schedules: frozenset[str]
    expires_on: date | None
    active: bool = True
    schedule_ii: bool = False  # may order schedule II (CSOS)

    def covers(self, schedule: str, today: date) -> bool:
        """Whether a product of `schedule` may be sold under this registration `today`.
        Schedule I, or any schedule not known here, is never covered."""
        needs = NEEDS.get(schedule)
        if needs is None or not self.active:
            return False
        if self.expires_on is None or self.expires_on < today:
            return False
        if schedule == "CII" and not self.schedule_ii:
            return False
        return needs <= self.schedules


class ControlledSubstanceNotAllowed(OrderlyError):
    status = 403
    code = "controlled_substance_not_allowed"
    title = "A controlled substance needs a DEA registration covering its schedule"


def not_covered(
    schedules: Mapping[str, str | None], registration: Registration | None, today: date
) -> list[dict[str, str]]:
    """The products (id → DEA schedule, None for none) the buyer may not have, each with
    its schedule; empty if it may have them all."""
    return [
        {"product_id": product_id, "dea_schedule": schedule}
        for product_id, schedule in sorted(schedules.items())
        if schedule and (registration is None or not registration.covers(schedule, today))
    ]


def check(
    schedules: Mapping[str, str | None], registration: Registration | None, today: date
) -> None:
    """Refuse (`controlled_substance_not_allowed`, naming the products and their schedules)
    unless the registration covers every scheduled product."""
    refused = not_covered(schedules, registration, today)
    if not refused:
        return
    listed = ", ".join(f"{r['product_id']} ({r['dea_schedule']})" for r in refused)
    why = (
        "the buyer has no DEA registration"
        if registration is None
        else "the buyer's DEA registration is not active or does not cover their schedule"
    )
    raise ControlledSubstanceNotAllowed(
        f"{why}: {listed}",
        product_ids=[r["product_id"] for r in refused],
        items=refused,
    )
