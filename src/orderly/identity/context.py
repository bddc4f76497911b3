"""How identity plugs into a running Orderly."""

from orderly.config import Settings
from orderly.contexts import ContextSpec, Wired
from orderly.identity import api, messages, passwords, service, store


def configure(settings: Settings) -> None:
    passwords.configure(settings.password_hash_memory, settings.password_hash_passes)


def wire(settings: "Settings") -> Wired:
    configure(settings)
    return Wired(
        workers=(service.audit_keeper,),
    )


CONTEXT = ContextSpec(
    name="identity",
    source=messages.SOURCE,
    publishes=messages.PUBLISHES,
    router=api.router,
    tables=store.metadata,
    wire=wire,
)
