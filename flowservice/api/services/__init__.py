"""What routes do, between the wire and the store: one module per resource kind."""
