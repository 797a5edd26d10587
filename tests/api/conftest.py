"""The API tier's extra fixture: a second runtime on the server's metadata DB and lake."""

from service_harness import runtime

__all__ = ["runtime"]
