"""`orderly erp-sim`, `orderly wms-sim` and `orderly payments-sim`: simulated SAP, WMS and card
gateway, for development and tests."""

from typing import Annotated

import typer

from orderly.entrypoints.cli.terminal import console


def erp_sim(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8070,
) -> None:
    """Serve a simulated SAP sales order API (in memory; faults switched at /sim/faults)."""
    from orderly.erp import simulator
    from orderly.erp.port import SALES_ORDERS

    console.print(f"simulated ERP at http://{host}:{port}{SALES_ORDERS}")
    simulator.serve(host, port)


def wms_sim(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8071,
) -> None:
    """Serve a simulated external WMS that picks, packs and ships the orders it is sent by
    itself, reporting each step (configured at /sim/config)."""
    from orderly.fulfillment import wms_sim as simulator

    console.print(f"simulated WMS at http://{host}:{port}/orders")
    simulator.serve(host, port)


def payments_sim(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8072,
) -> None:
    """Serve a simulated card gateway (in memory; faults switched at /sim/faults, money moved
    listed at /sim/movements); ORDERLY_PAYMENT_GATEWAY_URL sends payments to it."""
    from orderly.payments import simulator

    console.print(f"simulated card gateway at http://{host}:{port}")
    simulator.serve(host, port)
