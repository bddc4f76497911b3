"""Inventory's refusals: each a problem code its routes and callers answer with."""

from orderly.kernel.errors import Conflict, NotFound, Unprocessable


class ProductNotFound(NotFound):
    code = "product_not_found"
    title = "Product not found"


class LotNotFound(NotFound):
    code = "lot_not_found"
    title = "Lot not found"


class LotMismatch(Conflict):
    code = "lot_mismatch"
    title = "Lot number already received with another expiry"


class LotExpired(Conflict):
    code = "lot_expired"
    title = "Lot has expired"


class UnknownDc(Unprocessable):
    code = "unknown_dc"
    title = "No such distribution centre"


class DcNotFound(NotFound):
    code = "dc_not_found"
    title = "No such distribution centre"


class DcExists(Conflict):
    code = "dc_exists"
    title = "Distribution centre already exists"


class AccountNotFound(NotFound):
    code = "account_not_found"
    title = "Account not found"


class HoldNotFound(NotFound):
    code = "hold_not_found"
    title = "No live hold of this cart on this product"
