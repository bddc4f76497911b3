"""`orderly demo run`: every seed flow played against a running Orderly, with progress bars
and a table of each flow's outcome and time."""

import asyncio
import os
import time
from dataclasses import dataclass

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from orderly.demo import DEMO_CUSTOMER, DEMO_OPERATOR, DEMO_PASSWORD, DEMO_PHARMACIST
from orderly.entrypoints.cli.playback.client import Api, DemoFailed
from orderly.entrypoints.cli.playback.flows import FLOWS, Cast, Flow
from orderly.entrypoints.cli.playback.local import Target, own_deployment, pharmacist_code

__all__ = ["DemoFailed", "Played", "Target", "own_deployment", "play"]


@dataclass(frozen=True)
class Played:
    flow: Flow
    ok: bool
    outcome: str
    seconds: float


async def _signed_in(api: Api, email: str) -> Api:
    try:
        answer = await api.http.post(
            "/api/v1/auth/login", json={"email": email, "password": DEMO_PASSWORD}
        )
    except httpx.HTTPError as error:
        raise DemoFailed(f"no Orderly answers at {api.base_url} ({error!r})") from None
    if answer.status_code != 200 or "token" not in answer.json():
        raise DemoFailed(f"{email} cannot sign in: run `orderly demo load` against this Orderly")
    return api.as_user(answer.json()["token"])


async def _pharmacist(api: Api, env: dict[str, str]) -> Api | None:
    """The demo pharmacist, signed in with its password and its authenticator's code."""
    answer = await api.http.post(
        "/api/v1/auth/login", json={"email": DEMO_PHARMACIST, "password": DEMO_PASSWORD}
    )
    if answer.status_code != 200 or not answer.json().get("mfaRequired"):
        return None
    code = await asyncio.to_thread(pharmacist_code, env)
    if code is None:
        return None
    verified = await api.http.post(
        "/api/v1/auth/mfa/verify", json={"mfaToken": answer.json()["mfaToken"], "code": code}
    )
    return api.as_user(verified.json()["token"]) if verified.status_code == 200 else None


async def _cast(target: Target) -> Cast:
    anyone = Api(target.url)
    try:
        ops = await _signed_in(anyone, DEMO_OPERATOR)
        customer = await _signed_in(anyone, DEMO_CUSTOMER)
        pharmacist = await _pharmacist(anyone, target.env)
    finally:
        await anyone.close()
    switches = (await ops.http.get("/api/v1/admin/faults")).status_code == 200
    erp_url = target.erp_url
    if erp_url:
        try:
            await Api(erp_url).get("/sim/faults")
        except Exception:  # not a simulator there: the ERP's faults are not switched
            erp_url = ""
    return Cast(ops, customer, pharmacist, erp_url, switches)


async def play(target: Target, console: Console, only: tuple[str, ...] = ()) -> list[Played]:
    """Play every flow (or those `only` names by seed), one after another, with progress."""
    cast = await _cast(target)
    chosen = [flow for flow in FLOWS if not only or flow.seed in only]
    results: list[Played] = []
    columns = (
        TextColumn("[bold]seed {task.fields[seed]}[/] {task.fields[title]:<22}"),
        BarColumn(bar_width=24),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
    )
    try:
        with Progress(*columns, console=console) as progress:
            for flow in chosen:
                task = progress.add_task(
                    "waiting", total=len(flow.steps), seed=flow.seed, title=flow.title
                )
                results.append(await _played(flow, cast, progress, task))
    finally:
        for api in (cast.ops, cast.customer, cast.pharmacist):
            if api is not None:
                await api.close()
    return results


async def _played(flow: Flow, cast: Cast, progress: Progress, task: TaskID) -> Played:
    done: list[str] = []

    def step(name: str) -> None:
        if done:  # the step before it is over
            progress.advance(task)
        done.append(name)
        progress.update(task, description=name)

    started = time.monotonic()
    try:
        outcome = await flow.play(cast, step)
    except DemoFailed as failure:
        progress.update(task, description=f"[red]failed at {done[-1] if done else 'start'}")
        return Played(flow, False, str(failure), time.monotonic() - started)
    progress.update(task, completed=len(flow.steps), description="[green]done")
    return Played(flow, True, outcome, time.monotonic() - started)


def table(results: list[Played]) -> Table:
    shown = Table(title="Orderly demo: every seed flow", title_justify="left")
    shown.add_column("seed")
    shown.add_column("flow")
    shown.add_column("outcome", overflow="fold")
    shown.add_column("time", justify="right")
    for played in results:
        outcome = played.outcome if played.ok else f"[red]failed: {played.outcome}"
        shown.add_row(played.flow.seed, played.flow.title, outcome, f"{played.seconds:.1f} s")
    return shown


def environment() -> dict[str, str]:
    return dict(os.environ)
