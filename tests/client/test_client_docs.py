"""docs/sdk.md's example runs as written, against a live server and the SQL Server emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from service_harness import ApiClient

from mssql_emulator.testing import running_emulator

pytestmark = pytest.mark.timeout(120)

DOC = Path(__file__).parents[2] / "docs" / "sdk.md"
INIT = """
CREATE SCHEMA shop;
CREATE TABLE shop.Items (ItemID INT PRIMARY KEY, Title NVARCHAR(40));
INSERT INTO shop.Items VALUES (1, N'pen'), (2, N'ink');
"""


def example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    return next(block for block in blocks if "wait_for_run" in block and "os.environ" in block)


def test_the_documented_example_runs(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with running_emulator(init_sql=[INIT]) as emulator:
        monkeypatch.setenv("FS_URL", api.server.base_url)
        monkeypatch.setenv("FS_TOKEN", api.token)
        monkeypatch.setenv("FS_API_KEY", api.client_id)
        monkeypatch.setenv("FS_ORG", api.org_id)
        monkeypatch.setenv(
            "SQLSERVER",
            f"Data Source={emulator.host},{emulator.port};Initial Catalog={emulator.database};"
            f"User ID={emulator.user};Password={emulator.password};Encrypt=False;",
        )
        monkeypatch.setenv("TABLE", "shop.Items")
        exec(compile(example(), str(DOC), "exec"), {"__name__": "sdk_example"})
    printed = capsys.readouterr().out
    assert re.search(r"run \S+: success, 2 records", printed), printed
    assert re.search(r"batch \S+: success, 2 records", printed), printed
