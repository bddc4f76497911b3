"""Ways in: the web app, the CLI."""
