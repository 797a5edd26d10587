"""Source reads in child processes forked from a preloaded fork server (see ``client``)."""

from flowservice.flows.source_process.client import ProcessSource, SourceProcesses

__all__ = ["ProcessSource", "SourceProcesses"]
