"""``python -m mssql_emulator``: serve a SQL Server-compatible endpoint until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path

from mssql_emulator.browser import BrowserService
from mssql_emulator.server import EmulatorServer, ServerConfig
from mssql_emulator.tds.tls import TlsConfig, self_signed


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m mssql_emulator", description="A SQL Server-compatible TDS server on DuckDB."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1433)
    parser.add_argument(
        "--user",
        action="append",
        required=True,
        help="login name; repeat with --password for several logins",
    )
    parser.add_argument("--password", action="append", required=True)
    parser.add_argument(
        "--database",
        action="append",
        required=True,
        help="database name; the first is the default, repeat for more",
    )
    parser.add_argument(
        "--init",
        action="append",
        default=[],
        metavar="FILE.sql",
        help="T-SQL script run in the default database before serving",
    )
    parser.add_argument("--data", default=None, help="DuckDB file (in memory if omitted)")
    tls = parser.add_mutually_exclusive_group()
    tls.add_argument("--tls-self-signed", action="store_true")
    tls.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument(
        "--browser-port",
        type=int,
        default=None,
        help="answer SQL Server Browser (SSRP) requests on this UDP port",
    )
    parser.add_argument("--instance", default="MSSQLSERVER")
    parser.add_argument("--verbose", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if len(args.user) != len(args.password):
        print("give one --password per --user", file=sys.stderr)
        return 2
    if bool(args.tls_cert) != bool(args.tls_key):
        print("--tls-cert and --tls-key go together", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING)
    from mssql_emulator.engine import DuckDBEngine

    engine = DuckDBEngine(args.database, args.data)
    for script in args.init:
        engine.run_script(args.database[0], Path(script).read_text(encoding="utf-8-sig"))
    tls: TlsConfig | None = None
    if args.tls_self_signed:
        tls = self_signed()
    elif args.tls_cert:
        tls = TlsConfig(cert_file=args.tls_cert, key_file=args.tls_key)
    config = ServerConfig(
        users=dict(zip(args.user, args.password, strict=True)),
        database=args.database[0],
        host=args.host,
        port=args.port,
        tls=tls,
        instance=args.instance,
    )
    server = EmulatorServer(config, engine).start()
    browser = None
    if args.browser_port is not None:
        browser = BrowserService(args.host, args.browser_port, args.instance, server.port)
        browser.start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    print(f"mssql_emulator ready on {args.host}:{server.port}", flush=True)
    stop.wait()
    if browser is not None:
        browser.close()
    server.stop()
    engine.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
