"""The `orderly` command."""

import typer

from orderly.entrypoints.cli import (
    cluster,
    demo,
    erp,
    graphql,
    holds,
    identity,
    messages,
    projections,
    retention,
    sagas,
    server,
)

app = typer.Typer(help="Orderly order management.", no_args_is_help=True, add_completion=False)
app.command()(server.migrate)
app.command()(server.serve)
app.command(name="erp-sim")(erp.erp_sim)
app.command(name="wms-sim")(erp.wms_sim)
app.command(name="payments-sim")(erp.payments_sim)
app.add_typer(demo.app, name="demo")
app.add_typer(messages.outbox_app, name="outbox")
app.add_typer(messages.dead_app, name="dead-letters")
app.add_typer(sagas.app, name="sagas")
app.add_typer(projections.app, name="projections")
app.add_typer(retention.app, name="retention")
app.add_typer(identity.users_app, name="users")
app.add_typer(holds.app, name="holds")
app.add_typer(identity.accounts_app, name="accounts")
app.add_typer(identity.keys_app, name="keys")
app.add_typer(graphql.app, name="graphql")
app.add_typer(cluster.app, name="cluster")


def main() -> None:
    app()
