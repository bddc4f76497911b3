"""`/graphql`: the web BFF's schema behind the limits, every request signed in, every
refusal with the REST API's stable code (`extensions.code`)."""

from typing import Any

import strawberry
from fastapi import Request
from graphql import GraphQLError
from strawberry.fastapi import GraphQLRouter
from strawberry.types import ExecutionContext

from orderly.bff.graph import LIST_SIZES, GraphContext, Mutation, Query
from orderly.bff.graphql_limits import QueryLimits, extensions, refuse_batches
from orderly.bff.loaders import loaders
from orderly.bff.port import Contexts
from orderly.kernel.errors import OrderlyError
from orderly.web.auth import principal


class _Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """A refusal with its code and status, and not logged as a failure: the caller asked
        for something it may not have, or that is not there."""
        unexpected = []
        for error in errors:
            cause = error.original_error
            if isinstance(cause, OrderlyError):
                error.extensions = {**cause.extensions, "code": cause.code, "status": cause.status}
            elif (error.extensions or {}).get("code"):
                continue  # refused by a limit, with its code
            elif cause is None:  # not valid against the schema
                error.extensions = {"code": "invalid_query"}
            else:
                unexpected.append(error)
        if unexpected:
            super().process_errors(unexpected, execution_context)
            for error in unexpected:  # what failed inside is logged, not told
                error.message = "internal error"
                error.extensions = {"code": "internal_error"}


def limits(introspection: bool = False) -> QueryLimits:
    """The web BFF's: its lists weighed at their sizes, a page of fifty orders with their
    lines, payments and shipments within the cost, a hundred with their products' prices
    and stock not."""
    return QueryLimits(max_cost=5000, list_sizes=LIST_SIZES, introspection=introspection)


def schema(chosen: QueryLimits) -> strawberry.Schema:
    return _Schema(query=Query, mutation=Mutation, extensions=extensions(chosen))


SCHEMA = schema(limits())


async def _context(request: Request) -> GraphContext:
    caller = await principal(request)  # 401 without a token, as every route
    contexts: Contexts = request.app.state.bff
    return GraphContext(caller, contexts, loaders(contexts, caller))


class _Router(GraphQLRouter[GraphContext, None]):
    def decode_json(self, data: str | bytes) -> Any:
        body = super().decode_json(data)
        refuse_batches(body)  # 400 batch_not_allowed, a problem like any refusal
        return body


def router(introspection: bool = False) -> GraphQLRouter[GraphContext, None]:
    """The `/graphql` route; GraphiQL only where introspection is allowed."""
    return _Router(
        schema(limits(introspection)) if introspection else SCHEMA,
        path="/graphql",
        graphql_ide="graphiql" if introspection else None,
        allow_queries_via_get=False,
        context_getter=_context,
    )
