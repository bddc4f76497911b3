"""`orderly retention`: data retention by policy (docs/history.md), now or as of a date."""

from datetime import UTC, datetime
from typing import Annotated

import typer

from orderly.entrypoints.cli import deployment, terminal
from orderly.entrypoints.cli.terminal import AsJson, console, fail

app = typer.Typer(help="Data retention: what the policy keeps, archives and removes.")


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("an ISO 8601 date or time, such as 2033-12-31") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@app.command("run")
def retention_run(
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Say what would be archived and removed; change nothing."),
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="Apply the policy as of this date (UTC), not now."),
    ] = None,
    as_json: AsJson = False,
) -> None:
    """Archive and remove the ended orders past their time, the history's events and the mail
    log's mails past theirs; nothing a legal hold keeps."""
    from orderly.retention import CONTEXTS, RetentionPolicy, run

    settings = deployment.settings()
    missing = [name for name in CONTEXTS if name not in settings.contexts]
    if missing:
        raise fail(f"retention needs the {', '.join(missing)} context(s) configured here", 2)
    moment = _moment(as_of) if as_of else None
    deployment.migrate(settings)
    policy = RetentionPolicy.of(settings)
    report = deployment.run(settings, lambda dbs: run(dbs, policy, as_of=moment, dry_run=dry_run))
    if as_json:
        terminal.document(report.document())
        return
    verb = "would go" if dry_run else "removed"
    orders = report.orders_due - report.orders_held if dry_run else report.orders_removed
    events = report.events_due if dry_run else report.events_removed
    mails = report.mails_due if dry_run else report.mails_removed
    archived = f" (archived to {report.archive})" if report.archive else ""
    lines = [
        f"as of {report.as_of:%Y-%m-%d %H:%M} UTC{' (dry run)' if dry_run else ''}:",
        f"  orders ended over {policy.orders_days} days ago: {report.orders_due},"
        f" held {report.orders_held}, {verb} {orders}{archived}",
        f"  events of orders quiet over {policy.events_days} days: {report.events_due},"
        f" {verb} {events}",
        f"  mails over {policy.mails_days} days old: {report.mails_due}, {verb} {mails}"
        if policy.mails_days
        else "  mails: kept (ORDERLY_RETENTION_MAILS_DAYS is 0)",
    ]
    console.print("\n".join(lines), highlight=False)
