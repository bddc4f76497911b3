"""The messages compliance follows: the checkout saga's commands, identity's accounts and
catalog's products. Each reads its message and calls the job."""

from orderly.catalog.messages import ProductCreated, ProductUpdated
from orderly.compliance import checking, copies
from orderly.identity.messages import AccountCreated, AccountUpdated
from orderly.messaging import Envelope
from orderly.storage import Tx


async def check_compliance(tx: Tx, message: Envelope) -> None:
    await checking.check_compliance(tx, message)


async def void_compliance(tx: Tx, message: Envelope) -> None:
    await checking.void_compliance(tx, message)


async def account_on_account_created(tx: Tx, message: Envelope) -> None:
    await copies.copy_created_account(tx, message.read(AccountCreated))


async def account_on_account_updated(tx: Tx, message: Envelope) -> None:
    await copies.copy_updated_account(tx, message.read(AccountUpdated))


async def product_on_product_created(tx: Tx, message: Envelope) -> None:
    await copies.copy_created_product(tx, message.read(ProductCreated))


async def product_on_product_updated(tx: Tx, message: Envelope) -> None:
    await copies.copy_updated_product(tx, message.read(ProductUpdated))
