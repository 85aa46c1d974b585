"""The official Tableau Python client (tableauserverclient, unmodified) against the project's
Tableau simulator: every call must succeed and give the sample site's content.

Run by tests/tsc_client.rs, which starts `examples/tableau_sim` and passes:
  TSC_SIM_URL          the simulator's base URL
  TSC_SIM_PAT_NAME     the sample PAT's name
  TSC_SIM_PAT_SECRET   its secret
  TSC_SIM_API_VERSION  the REST API version the simulator serves (what use_server_version must find)

Prints one line per step; exits non-zero (a traceback) on the first failure.
"""

import os
import sys

import tableauserverclient as TSC


def step(text):
    print(f"tsc: {text}", flush=True)


def names(items):
    return sorted(item.name for item in items)


def main():
    url = os.environ["TSC_SIM_URL"]
    api_version = os.environ["TSC_SIM_API_VERSION"]
    auth = TSC.PersonalAccessTokenAuth(
        os.environ["TSC_SIM_PAT_NAME"], os.environ["TSC_SIM_PAT_SECRET"], site_id=""
    )

    server = TSC.Server(url)
    # Server info first (unauthenticated), then the version TSC adopts from it.
    info = server.server_info.get()
    assert info is not None, "serverInfo answer could not be parsed"
    assert info.rest_api_version == api_version, info.rest_api_version
    # TSC turns an answer it cannot parse into "Unknown" rather than an error.
    assert info.product_version not in (None, "Unknown"), info.product_version
    assert info.build_number not in (None, "Unknown"), info.build_number
    step(f"server info: product {info.product_version}, REST API {info.rest_api_version}")
    server.use_server_version()
    assert server.version == api_version, server.version
    step(f"use_server_version: {server.version}")

    # A wrong secret: the XML error must parse into TSC's sign-in error with Tableau's code.
    wrong = TSC.PersonalAccessTokenAuth(os.environ["TSC_SIM_PAT_NAME"], "wrong-secret", site_id="")
    try:
        server.auth.sign_in(wrong)
        raise AssertionError("a wrong PAT secret signed in")
    except TSC.FailedSignInError as error:
        assert error.code == "401001", error.code
    step("wrong PAT: 401001 Signin Error")

    server.auth.sign_in_with_personal_access_token(auth)
    assert server.is_signed_in()
    assert server.site_id and len(server.site_id) == 36, server.site_id
    step(f"signed in, site {server.site_id}")

    # Paged lists: page size 2 forces several pages for each.
    small_pages = TSC.RequestOptions(pagesize=2)
    workbooks = list(TSC.Pager(server.workbooks, small_pages))
    assert names(workbooks) == [
        "Live Sales",
        "P&L, Q1: Actuals",
        "Revenue Dashboard",
        "Revenue Dashboard",
        "Scratchpad",
    ], names(workbooks)
    first_page, pagination = server.workbooks.get(small_pages)
    assert (pagination.page_number, pagination.page_size, pagination.total_available) == (1, 2, 5)
    assert len(first_page) == 2
    for workbook in workbooks:
        # Every attribute TSC parses must have come through, in the types TSC gives them.
        assert workbook.id and workbook.content_url and workbook.webpage_url, workbook
        assert workbook.created_at is not None and workbook.updated_at is not None, workbook
        assert isinstance(workbook.size, int), workbook.size
        assert workbook.owner_id, workbook
    personal = next(w for w in workbooks if w.name == "Scratchpad")
    # (TSC fills project_id of a personal-space workbook with a random uuid; the name stays None.)
    assert personal.project_name is None, "a personal-space workbook has no project"
    step(f"workbooks: {len(workbooks)} over 3 pages of 2")

    projects = list(TSC.Pager(server.projects, TSC.RequestOptions(pagesize=1)))
    assert names(projects) == ["Finance", "Marketing", "Quarterly"], names(projects)
    quarterly = next(p for p in projects if p.name == "Quarterly")
    finance = next(p for p in projects if p.name == "Finance")
    assert quarterly.parent_id == finance.id, (quarterly.parent_id, finance.id)
    assert finance.parent_id is None
    step(f"projects: {len(projects)} over 3 pages of 1")

    datasources = list(TSC.Pager(server.datasources, TSC.RequestOptions(pagesize=1)))
    assert names(datasources) == ["Customers", "Orders"], names(datasources)
    assert all(ds.has_extracts for ds in datasources)
    step(f"data sources: {len(datasources)} over 2 pages of 1")

    # A name filter: two workbooks share the name, in two projects.
    by_name = TSC.RequestOptions()
    by_name.filter.add(
        TSC.Filter(TSC.RequestOptions.Field.Name, TSC.RequestOptions.Operator.Equals, "Revenue Dashboard")
    )
    revenue, pagination = server.workbooks.get(by_name)
    assert pagination.total_available == 2, pagination.total_available
    assert sorted(w.project_name for w in revenue) == ["Finance", "Marketing"]
    finance_revenue = next(w for w in revenue if w.project_name == "Finance")
    assert finance_revenue.project_id == finance.id
    step("filter name:eq:Revenue Dashboard: 2 workbooks (Finance, Marketing)")

    # The same filter with the characters that need percent-encoding.
    spaced = TSC.RequestOptions()
    spaced.filter.add(
        TSC.Filter(TSC.RequestOptions.Field.Name, TSC.RequestOptions.Operator.Equals, "P*L* Q1* Actuals")
    )
    pnl, _ = server.workbooks.get(spaced)
    assert names(pnl) == ["P&L, Q1: Actuals"], names(pnl)
    step("filter with * wildcards: the workbook named 'P&L, Q1: Actuals'")

    # Refresh the Finance workbook and wait for its job.
    job = server.workbooks.refresh(finance_revenue)
    assert job is not None, "refresh answered 409093 (already queued)"
    assert job.type == "RefreshExtract", job.type
    assert job.mode == "Asynchronous", job.mode
    assert job.workbook_id == finance_revenue.id, job.workbook_id
    step(f"refresh queued job {job.id}")
    done = server.jobs.wait_for_job(job, timeout=30)
    assert done.finish_code == TSC.JobItem.FinishCode.Success, done.finish_code
    assert done.completed_at is not None
    assert done.workbook_id == finance_revenue.id
    step(f"job finished: finishCode {done.finish_code} at {done.completed_at.isoformat()}")

    # Errors TSC handles by their code: 409093 (already queued) makes refresh() return None with a
    # warning; 409090 (no extract) is raised.
    marketing_revenue = next(w for w in revenue if w.project_name == "Marketing")
    queued = server.workbooks.refresh(marketing_revenue)
    assert queued is not None
    assert server.workbooks.refresh(marketing_revenue) is None, "a duplicate refresh was queued"
    step("duplicate refresh: 409093, TSC returns None")
    live = next(w for w in workbooks if w.name == "Live Sales")
    try:
        server.workbooks.refresh(live)
        raise AssertionError("a workbook without extracts was refreshed")
    except TSC.ServerResponseError as error:
        assert error.code == "409090", error.code
    step("workbook without extracts: 409090")
    server.jobs.wait_for_job(queued, timeout=30)

    # A data source refresh works too.
    orders = next(ds for ds in datasources if ds.name == "Orders")
    ds_job = server.datasources.refresh(orders)
    assert ds_job is not None and ds_job.datasource_id == orders.id
    ds_done = server.jobs.wait_for_job(ds_job.id, timeout=30)
    assert ds_done.finish_code == TSC.JobItem.FinishCode.Success
    step(f"data source refresh job {ds_job.id} finished")

    server.auth.sign_out()
    assert not server.is_signed_in()
    step("signed out")


if __name__ == "__main__":
    main()
    print("tsc: all calls succeeded", flush=True)
    sys.exit(0)
