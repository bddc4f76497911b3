"""Data retention (seed 004's table as the default policy): orders that ended are archived to a
compressed file and removed after seven years, the order history's events after 30 days, the
mail log after what the deployment configures; nothing kept by a legal hold goes.

It reads and removes in several contexts' databases, so it runs where they all are: the
embedded process, once a day (`ORDERLY_RETENTION_INTERVAL`), or `orderly retention run`
(a Kubernetes CronJob in `deploy/k8s/`). Traces and logs are not kept by Orderly: their
backends keep them as long as they are configured to.
"""

import asyncio
import gzip
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import structlog

from orderly.compliance import legal
from orderly.config import Settings
from orderly.history import retention as history_retention
from orderly.kernel.clock import utcnow
from orderly.notifications import retention as mail_retention
from orderly.ordering import retention as order_retention
from orderly.storage import Database
from orderly.storage.sqlite import sqlite_path

log = structlog.get_logger(__name__)

PAGE = 500
FIRST_AFTER = 60.0  # seconds from the start to the first run
# what a run reads and removes in: it runs only where every one of them is
CONTEXTS = ("ordering", "compliance", "history", "notifications")


@dataclass(frozen=True)
class RetentionPolicy:
    orders_days: int = 7 * 365 + 2  # seven years, leap days included
    events_days: int = 30
    mails_days: int = 0  # 0: the mail log is kept
    archive_dir: Path = Path("archive")

    @classmethod
    def of(cls, settings: Settings) -> "RetentionPolicy":
        folder = settings.retention_archive_dir
        if not folder:
            if settings.database_url.startswith("sqlite"):
                folder = str(sqlite_path(settings.database_url, "x").parent / "archive")
            else:
                folder = "archive"
        return cls(
            settings.retention_orders_days,
            settings.retention_events_days,
            settings.retention_mails_days,
            Path(folder),
        )


@dataclass
class Report:
    as_of: datetime
    dry_run: bool
    orders_due: int = 0  # ended, and unchanged since the cutoff
    orders_held: int = 0  # of those, kept by a legal hold
    orders_removed: int = 0
    archive: str | None = None
    events_due: int = 0
    events_removed: int = 0
    mails_due: int = 0
    mails_removed: int = 0

    def document(self) -> dict[str, Any]:
        return {**asdict(self), "as_of": self.as_of.isoformat()}


async def run(
    databases: Mapping[str, Database],
    policy: RetentionPolicy,
    *,
    as_of: datetime | None = None,
    dry_run: bool = False,
) -> Report:
    """Apply `policy` as of `as_of` (now by default); with `dry_run`, only say what would go."""
    missing = [name for name in CONTEXTS if name not in databases]
    if missing:
        raise ValueError(f"retention needs the {', '.join(missing)} database(s) here")
    as_of = as_of or utcnow()
    report = Report(as_of, dry_run)
    held = await legal.held(databases["compliance"])
    # the events and mails of every order a hold keeps, its account's holds included
    kept = held.orders | await order_retention.of_accounts(databases["ordering"], held.accounts)
    history = databases["history"]
    events_before = as_of - timedelta(days=policy.events_days)
    report.events_due = await history_retention.expired_events(history, events_before, kept)
    if not dry_run and report.events_due:
        report.events_removed = await history_retention.prune_events(history, events_before, kept)
    if policy.mails_days > 0:
        mails = databases["notifications"]
        mails_before = as_of - timedelta(days=policy.mails_days)
        report.mails_due = await mail_retention.expired_mails(mails, mails_before, kept)
        if not dry_run and report.mails_due:
            report.mails_removed = await mail_retention.prune_mails(mails, mails_before, kept)
    # the orders last: their events went above, folded into the history's baselines
    await _orders(databases, policy, as_of, held, report)
    return report


async def _orders(
    databases: Mapping[str, Database],
    policy: RetentionPolicy,
    as_of: datetime,
    held: legal.Held,
    report: Report,
) -> None:
    """Page through the orders past retention: those held are counted and kept; the others
    are written to the archive, the file made durable, and only then removed."""
    ordering = databases["ordering"]
    before = as_of - timedelta(days=policy.orders_days)
    archive: Path | None = None
    after = ""
    while True:
        page = await order_retention.expired(ordering, before, after, PAGE)
        if not page:
            break
        after = page[-1]["id"]
        due = [row["id"] for row in page if not held.keeps(row["id"], row["account_id"])]
        report.orders_due += len(page)
        report.orders_held += len(page) - len(due)
        if report.dry_run or not due:
            continue
        if archive is None:
            policy.archive_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            archive = policy.archive_dir / f"orders-{as_of:%Y%m%dT%H%M%SZ}.jsonl.gz"
            report.archive = str(archive)
        records = await order_retention.whole(ordering, due)
        await asyncio.to_thread(_append, archive, records)
        removed = await order_retention.remove(ordering, due, before)
        await history_retention.forget_orders(databases["history"], removed)
        report.orders_removed += len(removed)


def _append(archive: Path, records: list[dict[str, Any]]) -> None:
    """One JSON line per order, gzip members appended, synced to disk before it returns;
    readable by its owner only, as the databases are (it holds names and addresses)."""
    with os.fdopen(os.open(archive, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as raw:
        with gzip.GzipFile(fileobj=raw, mode="ab") as packed:
            for record in records:
                packed.write(orjson.dumps(record, default=str) + b"\n")
        raw.flush()
        os.fsync(raw.fileno())


async def every(
    databases: Mapping[str, Database], policy: RetentionPolicy, interval: float
) -> None:
    """Run retention a minute after the process starts (or one interval, if shorter), then
    every `interval` seconds for as long as it runs: a process restarted more often than the
    interval still runs it."""
    pause = min(interval, FIRST_AFTER)
    while True:
        await asyncio.sleep(pause)
        pause = interval
        try:
            report = await run(databases, policy)
            log.info("retention ran", **report.document())
        except Exception as error:  # upkeep only: the next round tries again
            log.warning("retention failed", error=type(error).__name__)
