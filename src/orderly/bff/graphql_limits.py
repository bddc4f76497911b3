"""The limits `/graphql` puts on a query before running it, each refusal with a stable code."""

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from graphql import ASTValidationRule, GraphQLError, GraphQLSyntaxError, ValidationRule
from graphql.language import SKIP, ast
from graphql.validation import ASTValidationContext
from strawberry.extensions import (
    AddValidationRules,
    DisableIntrospection,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    SchemaExtension,
    ValidationCache,
)

from orderly.kernel.errors import OrderlyError

# The largest page a list field serves: a `limit` or `first` given by a variable is costed at
# this, since validation runs (and is cached) before variables are known. The schema must refuse
# a larger page, or a variable would buy more than its cost.
MAX_PAGE: Final = 100
_CACHE_SIZE: Final = 1024


@dataclass(frozen=True)
class QueryLimits:
    max_depth: int = 10
    max_aliases: int = 15
    max_cost: int = 1000
    max_tokens: int = 2000
    introspection: bool = False
    # the pages a list field without `limit` or `first` is costed at, by its name: its
    # default page, or the most it holds in practice (an order's lines)
    list_sizes: tuple[tuple[str, int], ...] = ()


def extensions(limits: QueryLimits) -> list[Callable[[], SchemaExtension]]:
    """What `strawberry.Schema(..., extensions=...)` is built with, one factory per extension.

    The rules are made once here, not per request: the validation cache is keyed by them."""
    d, a, cost = limits.max_depth, limits.max_aliases, limits.max_cost
    refusals: list[tuple[AddValidationRules, str, str]] = [
        (QueryDepthLimiter(d), "query_too_deep", f"the query is deeper than {d}; at most {d}"),
        (MaxAliasesLimiter(a), "too_many_aliases", f"the query has over {a} aliases; at most {a}"),
    ]
    if not limits.introspection:
        refusals.append(
            (DisableIntrospection(), "introspection_disabled", "introspection is disabled")
        )
    sizes = dict(limits.list_sizes)
    rules = [query_cost_rule(cost, sizes)] + [
        _coded(rule, code, message, cost, sizes)
        for extension, code, message in refusals
        for rule in extension.validation_rules
    ]
    return [
        lambda: ParserCache(maxsize=_CACHE_SIZE),
        lambda: ValidationCache(maxsize=_CACHE_SIZE),
        lambda: _CodedMaxTokensLimiter(limits.max_tokens),
        lambda: AddValidationRules(rules),
    ]


def query_cost_rule(
    max_cost: int, list_sizes: Mapping[str, int] | None = None
) -> type[ValidationRule]:
    """A rule refusing an operation that costs more than `max_cost`.

    A field costs 1, plus its selection's cost times its `limit` or `first` if it has one (a
    variable counts as `MAX_PAGE`, 0 as 1), or else its size in `list_sizes`; a fragment
    costs what it selects where it is spread."""
    sizes = dict(list_sizes or {})

    class QueryCost(ValidationRule):
        def enter_operation_definition(self, node: ast.OperationDefinitionNode, *_: Any) -> object:
            cost = _cost(node.selection_set, self.context, {}, frozenset(), sizes)
            if cost > max_cost:
                message = f"the query costs {cost}; at most {max_cost}"
                self.report_error(_refusal(message, "query_too_costly", nodes=node))
            return SKIP

    return QueryCost


def _cost(
    selections: ast.SelectionSetNode,
    context: ASTValidationContext,
    fragment_costs: dict[str, int],
    spreading: frozenset[str],
    sizes: Mapping[str, int],
) -> int:
    # a fragment's cost is the same wherever it is spread: computed once, so fragments spreading
    # one another twice over cannot make this walk exponential
    total = 0
    for selection in selections.selections:
        if isinstance(selection, ast.FieldNode):
            total += 1
            if selection.selection_set:
                inner = _cost(selection.selection_set, context, fragment_costs, spreading, sizes)
                total += _page(selection, sizes) * inner
        elif isinstance(selection, ast.InlineFragmentNode):
            total += _cost(selection.selection_set, context, fragment_costs, spreading, sizes)
        elif isinstance(selection, ast.FragmentSpreadNode):
            name = selection.name.value
            fragment = context.get_fragment(name)
            if fragment is None or name in spreading:  # unknown or a cycle: other rules refuse
                continue
            if name not in fragment_costs:
                fragment_costs[name] = _cost(
                    fragment.selection_set, context, fragment_costs, spreading | {name}, sizes
                )
            total += fragment_costs[name]
    return total


def _page(field: ast.FieldNode, sizes: Mapping[str, int]) -> int:
    # at least 1, so that a query's cost bounds the number of fields it expands to
    values = [a.value for a in field.arguments or () if a.name.value in ("limit", "first")]
    pages = [max(int(v.value), 1) if isinstance(v, ast.IntValueNode) else MAX_PAGE for v in values]
    return max(pages, default=sizes.get(field.name.value, 1))


def _coded(
    rule: type[ASTValidationRule],
    code: str,
    message: str,
    max_cost: int,
    sizes: Mapping[str, int],
) -> type[ASTValidationRule]:
    """Strawberry's `rule`, refusing once with `code` and `message` instead of its own words.

    A document costing more than `max_cost` is refused by the cost rule and not walked by the
    depth and alias rules (they work in their constructor): they walk a fragment again at each
    of its spreads, hours for a short document whose fragments spread one another twice over."""

    def init(self: ASTValidationRule, context: ASTValidationContext) -> None:
        reporting = copy.copy(context)
        reported = False

        def report(error: GraphQLError) -> None:
            nonlocal reported
            if not reported:  # the depth and introspection rules report each field past the limit
                reported = True
                context.report_error(_refusal(message, code, nodes=error.nodes))

        reporting.on_error = report  # type: ignore[method-assign]
        definitions = context.document.definitions
        ops = [d for d in definitions if isinstance(d, ast.OperationDefinitionNode)]
        if any(_cost(o.selection_set, context, {}, frozenset(), sizes) > max_cost for o in ops):
            ASTValidationRule.__init__(self, reporting)
        else:
            rule.__init__(self, reporting)

    return cast(type[ASTValidationRule], type(rule.__name__, (rule,), {"__init__": init}))


def _refusal(message: str, code: str, **where: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code}, **where)


class _CodedMaxTokensLimiter(MaxTokensLimiter):
    """Strawberry's token limit, refusing with `query_too_long`.

    The parser cache parses in its own hook, so the parser's error comes out of the operation."""

    def on_operation(self) -> Iterator[None]:
        try:
            yield from super().on_operation()
        except GraphQLSyntaxError as error:
            limit = self.max_token_count
            if f"more than {limit} tokens" not in error.message:
                raise
            message = f"the query has more than {limit} tokens; at most {limit}"
            where = {"source": error.source, "positions": error.positions}
            raise _refusal(message, "query_too_long", **where) from error


class BatchNotAllowed(OrderlyError):
    code = "batch_not_allowed"
    title = "Batched operations are not allowed"


def refuse_batches(body: object) -> None:
    """Refuse a POST body that is a JSON array of operations: 400 `batch_not_allowed`.

    Strawberry refuses one itself (its `batching_config` is off by default), but as a text/plain
    400. The router catches it first by decoding through this, and the app's `OrderlyError`
    handler answers the problem:

        class OrderlyGraphQLRouter(GraphQLRouter[Context, None]):
            def decode_json(self, data: str | bytes) -> object:
                body = super().decode_json(data)
                refuse_batches(body)
                return body
    """
    if isinstance(body, list):
        raise BatchNotAllowed("send one operation per request, not an array of them")
