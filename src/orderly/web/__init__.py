"""What the contexts' HTTP routes share: the gateway's guards, request dependencies, field types,
declared refusals and the wire's forms."""
