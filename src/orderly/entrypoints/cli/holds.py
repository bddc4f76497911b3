"""`orderly holds`: what carts hold of each product."""

import typer

from orderly.entrypoints.cli import deployment, terminal
from orderly.entrypoints.cli.terminal import AsJson, fail

app = typer.Typer(help="What carts hold of each product.", no_args_is_help=True)


@app.command("list")
def holds_list(product_id: str, as_json: AsJson = False) -> None:
    """The carts holding a product now, largest first: whose, how many, since and until when."""
    from orderly.inventory import service

    settings = deployment.of_context("inventory", "holds")
    try:
        found = deployment.run(settings, lambda dbs: service.holds(dbs["inventory"], product_id))
    except service.ProductNotFound:
        raise fail(f"product {product_id} is not stocked") from None
    if as_json:
        terminal.document(found)
        return
    # one line per hold, ids whole: fit to be read, grepped and pasted
    typer.echo("cart\tcustomer\taccount\tdc\tquantity\tfirst held at\texpires at")
    for hold in found:
        fields = ("cart_id", "customer_id", "account_id", "dc", "quantity")
        cells = [str(hold[k] if hold[k] is not None else "-") for k in fields]
        cells += [hold["first_held_at"].isoformat(), hold["expires_at"].isoformat()]
        typer.echo("\t".join(cells))
