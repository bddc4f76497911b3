"""How compliance plugs into a running Orderly."""

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.compliance import api, handlers, messages, store
from orderly.compliance.messages import CheckCompliance, VoidCompliance
from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired, consumer
from orderly.identity.messages import AccountCreated, AccountUpdated


def wire(settings: Settings) -> Wired:
    return Wired(
        subscriptions=(
            consumer("compliance", handlers.check_compliance, CheckCompliance),
            consumer("compliance", handlers.void_compliance, VoidCompliance),
            consumer("compliance", handlers.account_on_account_created, AccountCreated),
            consumer("compliance", handlers.account_on_account_updated, AccountUpdated),
            consumer("compliance", handlers.product_on_product_created, ProductCreated),
            consumer("compliance", handlers.product_on_product_updated, ProductUpdated),
        ),
    )


CONTEXT = ContextSpec(
    name="compliance",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
