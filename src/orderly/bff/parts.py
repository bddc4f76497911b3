"""An aggregate's parts fetched at once: each part its answer, or null and named among the
unavailable ones when its context did not answer; the whole waits for the slowest only."""

import asyncio
from collections.abc import Awaitable, Mapping
from typing import Any

from orderly.bff.port import ContextUnavailable


class Parts:
    def __init__(self) -> None:
        self.unavailable: list[dict[str, str]] = []

    async def gather(self, calls: Mapping[str, Awaitable[Any]]) -> dict[str, Any]:
        """Each call's answer by part name, all run at once. A context's refusal (a 404, say)
        is raised as it is: a part missing for that reason is not "unavailable"."""
        names = list(calls)
        answers = await asyncio.gather(*calls.values(), return_exceptions=True)
        found: dict[str, Any] = {}
        for name, answer in zip(names, answers, strict=True):
            if isinstance(answer, ContextUnavailable):
                self.unavailable.append(
                    {"part": name, "context": answer.context, "reason": answer.reason}
                )
                found[name] = None
            elif isinstance(answer, BaseException):
                raise answer
            else:
                found[name] = answer
        return found

    def missing(self, part: str, context: str, reason: str) -> None:
        self.unavailable.append({"part": part, "context": context, "reason": reason})
