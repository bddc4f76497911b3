"""Fulfillment's consumers, with the deployment's warehouse rules bound in."""

from dataclasses import dataclass

from orderly.fulfillment import backorders, floor, orchestrator, service, wms
from orderly.fulfillment.policy import FulfillmentPolicy
from orderly.messaging import Envelope
from orderly.sagas import engine
from orderly.storage import Tx


@dataclass(frozen=True)
class FulfillmentHandlers:
    rules: FulfillmentPolicy

    async def release_on_payment_completed(self, tx: Tx, message: Envelope) -> None:
        await service.release_on_payment_completed(tx, message, self.rules)

    async def allocation_on_inventory_reserved(self, tx: Tx, message: Envelope) -> None:
        """The lots of the order's reservation; its fulfillment may start now. A released
        backorder's reservation: it joins a wave, and its shipment goes on."""
        order_id = await floor.allocation_on_inventory_reserved(tx, message)
        if await backorders.released(tx, order_id) is None:
            await service.maybe_start(tx, self.rules, order_id)
            return
        await floor.join_waves(tx, self.rules, order_id)
        await engine.advance(tx, orchestrator.definitions(self.rules), message)

    async def release_on_inventory_received(self, tx: Tx, message: Envelope) -> None:
        await backorders.release_on_inventory_received(tx, self.rules, message)

    async def release_on_order_confirmed(self, tx: Tx, message: Envelope) -> None:
        await service.release_on_order_confirmed(tx, message, self.rules)

    async def cancel_on_order_cancelled(self, tx: Tx, message: Envelope) -> None:
        await service.cancel_on_order_cancelled(tx, message, self.rules)

    async def create_picks_on_command(self, tx: Tx, message: Envelope) -> None:
        """Pick tasks on Orderly's own floor, or the order sent to the external WMS."""
        if not self.rules.external:
            await floor.create_picks_on_command(tx, message)
            return
        order_id = message.data["orderId"]
        order = await floor.wms_order(tx, order_id, self.rules.carrier)
        await wms.want(tx, order_id, wms.SEND, order)

    async def cancel_picks_on_command(self, tx: Tx, message: Envelope) -> None:
        """Undo the order's picks (and cancel it at the external WMS, if it has it)."""
        if self.rules.external:
            await wms.want(tx, message.data["orderId"], wms.CANCEL, {})
        await floor.cancel_picks_on_command(tx, message)

    async def create_pack_on_command(self, tx: Tx, message: Envelope) -> None:
        await floor.create_pack_on_command(tx, message, self.rules)

    async def ship_on_command(self, tx: Tx, message: Envelope) -> None:
        """The carrier takes an order's shipment, or a released backorder's."""
        backorder = await backorders.released(tx, message.data["orderId"])
        if backorder is None:
            await service.ship_on_command(tx, message, self.rules)
            return
        tracking = floor.tracking_number()
        await service.ship_backorder(tx, self.rules, message, backorder, tracking)

    async def advance_on_reply(self, tx: Tx, message: Envelope) -> None:
        """An answer to a command of an order's fulfillment that undoes a step: inventory
        giving the stock back, the floor's picks, packing or shipment cancelled; or
        inventory's refusal to reserve a released backorder."""
        await engine.advance(tx, orchestrator.definitions(self.rules), message)


def replies_to_fulfillment(message: Envelope) -> bool:
    """Only answers that name a saga may move one (`concerns` of `advance_on_reply`)."""
    return bool(message.saga_id)
