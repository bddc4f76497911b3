"""How identity plugs into a running Orderly."""

from orderly.config import Settings
from orderly.contexts import ContextSpec
from orderly.identity import api, messages, passwords, service, store


def configure(settings: Settings) -> None:
    passwords.configure(settings.password_hash_memory, settings.password_hash_passes)


CONTEXT = ContextSpec(
    name="identity",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    subscriptions=(),
    router=api.router,
    tables=store.metadata,
    workers=(service.audit_keeper,),
    configure=configure,
)
