"""flowservice: a self-hosted implementation of the Flow Service API."""

__version__ = "0.1.0"
