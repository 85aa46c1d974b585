"""The official Tableau Python client (tableauserverclient, unmodified) posting GraphQL to the
project's Tableau simulator through its Metadata API endpoint (`server.metadata`): the request TSC
builds (URL, headers, body) must be one the simulator reads, and the answers must be what TSC
expects of Tableau (including `paginated_query`, which follows `pageInfo.endCursor`).

Run by tests/tsc_metadata.rs, which starts the simulator with the sample site and passes:
  TSC_SIM_URL, TSC_SIM_PAT_NAME, TSC_SIM_PAT_SECRET

Prints one line per step; exits non-zero (a traceback) on the first failure.
"""

import os

import tableauserverclient as TSC
from tableauserverclient.server.endpoint.exceptions import GraphQLError

TABLES = """
query T($names: [String], $schemas: [String]) {
  databaseTablesConnection(filter: {nameWithin: $names, schemaWithin: $schemas}) {
    nodes { name database { name }
      downstreamDatasources { __typename luid hasExtracts }
      downstreamWorkbooks { luid name } }
    pageInfo { hasNextPage endCursor } } }
"""

# TSC's paginated_query drives `$first` and `$afterToken` itself.
PAGED = """
query P($first: Int, $afterToken: String) {
  workbooksConnection(first: $first, after: $afterToken) {
    nodes { luid name }
    pageInfo { hasNextPage endCursor } } }
"""


def step(text):
    print(f"tsc: {text}", flush=True)


def main():
    server = TSC.Server(os.environ["TSC_SIM_URL"])
    server.use_server_version()
    auth = TSC.PersonalAccessTokenAuth(
        os.environ["TSC_SIM_PAT_NAME"], os.environ["TSC_SIM_PAT_SECRET"], site_id=""
    )
    server.auth.sign_in(auth)
    step(f"signed in, REST API {server.version}")

    result = server.metadata.query(
        TABLES, {"names": ["FCT_ORDERS"], "schemas": ["MARTS"]}, abort_on_error=True
    )
    tables = result["data"]["databaseTablesConnection"]["nodes"]
    assert len(tables) == 1, tables
    assert tables[0]["database"]["name"] == "ANALYTICS", tables
    published = tables[0]["downstreamDatasources"]
    assert [p["__typename"] for p in published] == ["PublishedDatasource"], published
    workbooks = sorted(w["name"] for w in tables[0]["downstreamWorkbooks"])
    assert workbooks == ["Live Sales", "P&L, Q1: Actuals"], workbooks
    step(f"FCT_ORDERS feeds {len(published)} published data source, workbooks {workbooks}")

    pages = server.metadata.paginated_query(PAGED, {"first": 2}, abort_on_error=True)
    pages = pages["pages"]
    luids = [w["luid"] for page in pages for w in page["data"]["workbooksConnection"]["nodes"]]
    assert len(pages) == 3 and len(luids) == 5 and len(set(luids)) == 5, pages
    step(f"paginated_query: {len(luids)} workbooks in {len(pages)} pages")

    try:
        server.metadata.query("{ workbooks { luid nmae } }", abort_on_error=True)
        raise AssertionError("a misspelt field was answered")
    except GraphQLError as error:
        assert "nmae" in str(error), error
    step("misspelt field: GraphQLError")

    server.auth.sign_out()
    step("all calls succeeded")


if __name__ == "__main__":
    main()
