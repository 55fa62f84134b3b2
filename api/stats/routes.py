"""Portfolio statistics: the dashboard's bureau figures as JSON, exact integer fen.

Computed by the same :mod:`api.stats` functions as the dashboard, over the loans the caller
may see in aggregate (a regional bureau: its region; a bank: its own loans).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from pydantic import BaseModel, Field
from sqlmodel import Session

from api.core import result_cache
from api.core.deps import CurrentOrg, SessionDep
from api.identity.models import Organisation
from api.pledge.models import IPType
from api.stats import filters as stats_filters
from api.stats import kpis as stats_kpis
from api.stats import service as stats_service
from ipfin.validation import IndustrySection, RegionCode

router = APIRouter(prefix="/stats", tags=["stats"])


class OverviewFigures(BaseModel):
    loan_count: int
    enterprise_count: int
    amount_fen: int
    inclusive_count: int
    inclusive_amount_fen: int
    live_outstanding_fen: int
    npl_outstanding_fen: int
    npl_count: int
    inclusive_threshold_fen: int
    inclusive_share: float | None
    inclusive_amount_share: float | None
    npl_ratio: float | None


class PartyCompensationOut(BaseModel):
    party: str
    claims: int
    paid_fen: int
    recovered_fen: int
    net_fen: int


class RegistrationFigures(BaseModel):
    registration_count: int = Field(description="pledge registrations dated in the period (one per IP asset)")
    loan_count: int = Field(description="loans first registered in the period (a later added pledge does not "
                            "count a loan again, so periods add up)")
    registered_amount_fen: int = Field(description="principal of those loans, fen")
    pledged_value_fen: int = Field(description="appraised value at pledging of the registered IP assets, fen")


class RegistrationsOut(BaseModel):
    current: RegistrationFigures
    previous: RegistrationFigures | None
    year_ago: RegistrationFigures | None
    change: dict[str, float | None] = Field(description="环比 of registration_count and registered_amount_fen")
    change_yoy: dict[str, float | None] = Field(description="同比 of the same")


class BudgetLine(BaseModel):
    rule_id: str
    name: str
    kind: Literal["party_year", "subsidy"]
    key: str = Field(description="the party (annual compensation cap) or the subsidy")
    budget_fen: int
    used_fen: int


class ProgrammeBudgetsOut(BaseModel):
    year: int = Field(description="calendar year of the period end")
    budget_fen: int
    used_fen: int
    used_share: float | None
    budgets: list[BudgetLine]


class OverviewOut(BaseModel):
    filter: dict[str, Any]
    current: OverviewFigures
    previous_filter: dict[str, Any] | None
    previous: OverviewFigures | None
    year_ago_filter: dict[str, Any] | None = Field(description="the same dates a year earlier (同比)")
    year_ago: OverviewFigures | None
    change: dict[str, float | None] = Field(description="period-on-period (环比) change, fraction")
    change_yoy: dict[str, float | None] = Field(description="year-on-year (同比) change, fraction")
    npl_stock: dict[str, dict[str, Any] | None] = Field(
        description="NPL ratio as a stock at the end of the period, the previous period and a year earlier"
    )
    vintage: dict[str, Any] = Field(description="cohort view: loans disbursed in the period that defaulted since")
    compensation_by_party: list[PartyCompensationOut] | None = Field(
        description="risk-sharing payouts and recoveries per party booked in the period"
    )
    registrations: RegistrationsOut = Field(description="pledge registrations (质押登记) dated in the period")
    programme_budgets: ProgrammeBudgetsOut | None = Field(
        description="programme budgets used in the year of the period end (bureaus, funds, platform; else null)"
    )
    definitions: dict[str, dict[str, str]] = Field(description="how each figure is defined, zh and en")


class BreakdownOut(BaseModel):
    by: str
    filter: dict[str, Any]
    data: list[dict[str, Any]]


class TimeseriesOut(BaseModel):
    granularity: str
    filter: dict[str, Any]
    data: list[dict[str, Any]]


def _unprocessable(exc: ValueError) -> HTTPException:
    field = str(exc).split(":", 1)[0]
    return HTTPException(
        422,
        detail=[{"loc": ["query", field], "msg": str(exc), "type": "value_error"}],
    )


async def loan_filter(
    date_from: date | None = None,
    date_to: date | None = None,
    province_code: RegionCode | None = None,
    region_code: RegionCode | None = None,
    industry: IndustrySection | None = None,
    ip_type: IPType | None = None,
    bank_org_id: int | None = None,
) -> stats_filters.LoanFilter:
    """The loan filter from the query string (a bad combination is a 422 naming the field).

    Without either date the period is bounded: the last twelve whole months up to the current
    month (:func:`default_period`), so no request scans the whole book by accident.
    """
    if date_from is None and date_to is None:
        date_from, date_to = default_period(date.today())
    try:
        return stats_filters.LoanFilter(
            date_from=date_from, date_to=date_to, province_code=province_code, region_code=region_code,
            industry=industry, ip_type=str(ip_type) if ip_type else None, bank_org_id=bank_org_id,
        )
    except ValueError as exc:
        raise _unprocessable(exc) from exc


def default_period(today: date) -> tuple[date, date]:
    """The last twelve whole calendar months ending with the month of ``today``."""
    end = (today.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    start = stats_filters._add_months(today.replace(day=1), -11)
    return start, end


FilterDep = Annotated[stats_filters.LoanFilter, Depends(loan_filter)]


def _json(session: Session, org: Organisation, key: Hashable, compute: Callable[[], BaseModel]) -> Response:
    """The figures as JSON, computed once per data version, caller and parameters
    (:mod:`api.core.result_cache`): a repeated request while nothing was written costs the caller's
    query and one version read."""
    body = result_cache.cached(session.connection(), (org.id, date.today(), key),
                               lambda: compute().model_dump_json().encode())
    return Response(body, media_type="application/json")


@router.get("/overview", response_model=OverviewOut)
def get_overview(
    session: SessionDep,
    org: CurrentOrg,
    flt: FilterDep,
    inclusive_threshold_cny: Annotated[int, Query(gt=0, le=10**12)] = 10_000_000,
) -> Response:
    """Financing, loans, enterprises, inclusive share, NPL ratio (stock at period end), vintage default
    rate, compensation by party, pledge registrations and programme budgets used, with 环比 and 同比 and
    each figure's definition."""
    return _json(session, org, ("overview", flt, inclusive_threshold_cny), lambda: OverviewOut(
        **stats_kpis.bureau_overview(session.connection(), org, flt, date.today(), inclusive_threshold_cny)))


@router.get("/breakdown", response_model=BreakdownOut)
def get_breakdown(
    session: SessionDep,
    org: CurrentOrg,
    flt: FilterDep,
    by: Literal["province", "city", "county", "industry", "ip_type", "bank", "status"] = "province",
) -> Response:
    """Loans, principal and outstanding (fen) by province, city, county, industry, IP type, bank or status."""
    return _json(session, org, ("breakdown", flt, by), lambda: BreakdownOut(
        by=by, filter=flt.as_dict(),
        data=[r.__dict__ for r in stats_service.breakdown(session.connection(), org, flt, by)]))


@router.get("/timeseries", response_model=TimeseriesOut)
def get_timeseries(
    session: SessionDep,
    org: CurrentOrg,
    flt: FilterDep,
    granularity: Literal["month", "quarter", "year"] = "month",
) -> Response:
    """Financing per month, quarter or year (zeros filled over the requested period)."""
    return _json(session, org, ("timeseries", flt, granularity), lambda: TimeseriesOut(
        granularity=granularity, filter=flt.as_dict(),
        data=[r.__dict__ for r in stats_service.timeseries(session.connection(), org, flt, granularity)]))
