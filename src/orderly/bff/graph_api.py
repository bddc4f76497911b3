"""`/graphql`: the web BFF's schema behind the limits, every request signed in, every
refusal with the REST API's stable code (`extensions.code`)."""

from typing import Any, cast

import strawberry
from fastapi import Request
from graphql import GraphQLError
from starlette.requests import HTTPConnection
from strawberry.exceptions import ConnectionRejectionError
from strawberry.fastapi import GraphQLRouter
from strawberry.http import GraphQLRequestData
from strawberry.types import ExecutionContext, ExecutionResult
from strawberry.types.unset import UNSET, UnsetType

from orderly.bff.answers import Answers
from orderly.bff.graph import LIST_SIZES, GraphContext, Mutation, Query, Subscription
from orderly.bff.graphql_limits import QueryLimits, extensions, refuse_batches
from orderly.bff.port import Contexts
from orderly.kernel.errors import OrderlyError
from orderly.web.auth import bearer, full_session, principal


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
    return _Schema(
        query=Query, mutation=Mutation, subscription=Subscription, extensions=extensions(chosen)
    )


SCHEMA = schema(limits())


async def _context(connection: HTTPConnection) -> GraphContext:
    contexts: Contexts = connection.app.state.bff
    if connection.scope["type"] == "websocket":  # signed in by its first message
        return GraphContext(None, contexts)
    # 401 without a token, as every route
    return GraphContext(await principal(cast(Request, connection)), contexts)


class _Router(GraphQLRouter[GraphContext, None]):
    def decode_json(self, data: str | bytes) -> Any:
        body = super().decode_json(data)
        refuse_batches(body)  # 400 batch_not_allowed, a problem like any refusal
        return body

    async def execute_single(
        self,
        request: Request,
        request_adapter: Any,
        sub_response: Any,
        context: GraphContext,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """A product page's answer from the read cache when it has it (`answers`); else
        executed, and kept if whole."""
        answers: Answers | None = getattr(request.app.state, "answers", None)
        query = request_data.query
        if answers is None or not isinstance(query, str):
            return await super().execute_single(
                request, request_adapter, sub_response, context, root_value, request_data
            )
        variables, operation = request_data.variables, request_data.operation_name
        found, miss = await answers.find(context.caller, query, variables, operation)
        if found is not None:
            return ExecutionResult(data=found, errors=None)
        result = await super().execute_single(
            request, request_adapter, sub_response, context, root_value, request_data
        )
        data = result.data
        if miss is not None and not result.errors and data and None not in data.values():
            await answers.keep(miss, data)
        return result

    async def on_ws_connect(self, context: GraphContext) -> UnsetType | dict[str, object] | None:
        """A WebSocket names its caller in its first message (`connection_init`'s payload,
        `{"Authorization": "Bearer <token>"}`, as browsers cannot set the header); without a
        valid one the connection is closed (4403)."""
        params = context.connection_params
        header = params.get("Authorization", "") if isinstance(params, dict) else ""
        assert context.request is not None, "the router hands every context its connection"
        run = context.request.app.state.runtime
        try:
            context.sign_in(full_session(await bearer(run, str(header))))
        except OrderlyError as refusal:
            raise ConnectionRejectionError({"code": refusal.code}) from None
        accepted: UnsetType = UNSET
        return accepted


def router(introspection: bool = False) -> GraphQLRouter[GraphContext, None]:
    """The `/graphql` route; GraphiQL only where introspection is allowed."""
    return _Router(
        schema(limits(introspection)) if introspection else SCHEMA,
        path="/graphql",
        graphql_ide="graphiql" if introspection else None,
        allow_queries_via_get=False,
        context_getter=_context,
    )
