"""Lists follow the service's pages: continuation tokens (Flow Service), offsets (Catalog)."""

from __future__ import annotations

from fault_proxy import FaultProxy
from service_harness import SQLSERVER_SPEC_ID, sql_server_connection_body

from flowservice.client import Client, Connection


def test_connections_list_follows_continuation_tokens_across_pages(
    proxied: Client, proxy: FaultProxy
) -> None:
    made = {
        proxied.connections.create(sql_server_connection_body(name=f"paged {i}")).id
        for i in range(7)
    }
    proxy.reset()
    listed = list(proxied.connections.list(page_size=2))
    assert {c.id for c in listed} == made
    assert all(isinstance(c, Connection) for c in listed)
    assert len(listed) == 7  # no item twice
    pages = [seen for seen in proxy.seen if seen.method == "GET"]
    assert len(pages) == 4  # 2 + 2 + 2 + 1
    assert all(seen.answered == 200 for seen in pages)
    assert "continuationToken=" not in pages[0].path
    assert all("continuationToken=" in seen.path for seen in pages[1:])


def test_filters_and_order_hold_on_every_page(client: Client) -> None:
    for i in range(5):
        client.connections.create(sql_server_connection_body(name=f"keep {i}"))
    for i in range(3):
        client.connections.create(sql_server_connection_body(name=f"drop {i}"))
    names = [
        c.name
        for c in client.connections.list(
            filters=["name==keep 0,keep 1,keep 2,keep 3,keep 4"], order="-name", page_size=2
        )
    ]
    assert names == [f"keep {i}" for i in (4, 3, 2, 1, 0)]


def test_a_single_page_when_everything_fits(client: Client) -> None:
    made = client.connections.create(sql_server_connection_body()).id
    assert [c.id for c in client.connections.list()] == [made]
    assert list(client.flows.list()) == []


def test_catalog_datasets_page_by_offset(proxied: Client, proxy: FaultProxy) -> None:
    made = {proxied.datasets.create({"name": f"ds {i}"}).id for i in range(5)}
    proxy.reset()
    listed = list(proxied.datasets.list(page_size=2, order="asc:created"))
    assert [d.id for d in listed if d.id in made] == [d.id for d in listed]
    assert {d.id for d in listed} == made and len(listed) == 5
    assert {d.name for d in listed} == {f"ds {i}" for i in range(5)}
    assert len([seen for seen in proxy.seen if seen.method == "GET"]) == 3  # 2 + 2 + 1


def test_specs_list_and_get(client: Client) -> None:
    specs = {s.id: s for s in client.connection_specs.list(page_size=1)}
    assert SQLSERVER_SPEC_ID in specs and len(specs) > 1
    got = client.connection_specs.get(SQLSERVER_SPEC_ID)
    assert got.name == specs[SQLSERVER_SPEC_ID].name and got.auth_spec
    flow_specs = list(client.flow_specs.list())
    assert flow_specs and flow_specs[0].source_connection_spec_ids
    assert client.flow_specs.get(flow_specs[0].id).name == flow_specs[0].name
