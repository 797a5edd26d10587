"""HTTP routes, one module per resource kind; thin: parse, call a service, shape."""
