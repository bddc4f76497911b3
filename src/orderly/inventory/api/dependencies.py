"""What inventory's routes are handed per request: its database, its path parameters, and
the guards of its operator routes."""

from typing import Annotated

from fastapi import Depends, Path, Request

from orderly.inventory import service
from orderly.kernel.principal import Principal
from orderly.storage import Database
from orderly.web.auth import operator_over, own_account
from orderly.web.dependencies import database, runtime

Inventory = Annotated[Database, Depends(database("inventory"))]

# Kept as the setting's key, in the 36 characters an account id has.
AccountId = Annotated[str, Path(max_length=36)]
ProductId = Annotated[str, Path(max_length=36)]


async def _sees_product(request: Request, caller: Principal) -> None:
    db = (await runtime(request)).databases["inventory"]
    await service.position(db, request.path_params["product_id"], with_lots=False)


async def _sees_hold(request: Request, caller: Principal) -> None:
    """A cart's hold is seen by the cart's customer (or account), in its cart."""
    db = (await runtime(request)).databases["inventory"]
    cart_id = request.path_params["cart_id"]
    for held in await service.holds(db, request.path_params["product_id"]):
        if held["cart_id"] == cart_id and caller.may_see(held["customer_id"], held["account_id"]):
            return
    raise service.HoldNotFound(f"cart {cart_id} holds none of this product")


# Operators only. Everyone sees a product's stock, a customer its own cart's hold and a
# member its account: they are told 403; to anyone else the thing does not exist.
StockKeeper = Annotated[Principal, Depends(operator_over(_sees_product))]
HoldKeeper = Annotated[Principal, Depends(operator_over(_sees_hold))]
AccountKeeper = Annotated[Principal, Depends(operator_over(own_account("account_id")))]
