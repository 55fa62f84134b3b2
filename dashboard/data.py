"""The dashboard's only data access: who is looking (from the session cookie) and their figures.

Every callback asks :func:`current_viewer` again — the browser's state is never trusted for
identity or scope — and every figure comes from :mod:`api.stats` (the same functions as
``/api/v1/stats``) on the process-wide engine, scoped to the viewer's organisation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import flask

from api.core.config import get_settings
from api.core.db import get_engine
from api.identity import service as identity_service
from api.identity.models import Organisation, OrgKind
from api.pledge import reports as pledge_reports
from api.risk_sharing import reports as risk_sharing_reports
from api.securitization import reports as securitization_reports
from api.stats import collateral as stats_collateral
from api.stats import filters, kpis
from api.stats import service as stats
from api.stats.definitions import DEFINITIONS
from api.valuation import reports as valuation_reports
from dashboard.i18n import LANG_COOKIE, norm_lang


@dataclass(frozen=True)
class Viewer:
    """The signed-in user and their organisation (a detached snapshot for one request)."""

    user_id: int
    email: str
    full_name: str | None
    role: str
    org: Organisation

    @property
    def kind(self) -> str:
        return str(self.org.kind)

    def may_see(self, page: str) -> bool:
        """Page access by organisation kind (admin sees everything)."""
        allowed = PAGE_ACCESS[page]
        return self.kind == OrgKind.admin or allowed is None or self.kind in allowed


PAGE_ACCESS: dict[str, set[str] | None] = {
    "overview": None,  # everyone, scoped to what they may aggregate
    "bank": {"bank"},
    "guarantor": {"guarantor", "reguarantor", "fund"},
    "abs": None,  # everyone; pools are owner-scoped
}


def viewer_from_token(token: str | None) -> Viewer | None:
    """The active user behind a session token, or None (missing, forged, expired, inactive)."""
    found = identity_service.active_user_from_token(token)
    if found is None:
        return None
    user, org = found
    return Viewer(int(user.id or 0), user.email, user.full_name, str(user.role), org)


def current_viewer() -> Viewer | None:
    """The viewer of the current Flask request, from the HttpOnly session cookie."""
    if not flask.has_request_context():
        return None
    return viewer_from_token(flask.request.cookies.get(get_settings().session_cookie_name))


def current_lang() -> str:
    if not flask.has_request_context():
        return norm_lang(None)
    return norm_lang(flask.request.cookies.get(LANG_COOKIE))


# ------------------------------------------------------------------ bureau overview


def overview(
    viewer: Viewer, flt: filters.LoanFilter, threshold_cny: int
) -> tuple[stats.Overview, stats.Overview | None]:
    """This period's and the previous period's headline figures (one SQL scan)."""
    with get_engine().connect() as conn:
        return stats.overview_with_previous(conn, viewer.org, flt, threshold_cny)


def bureau_overview(viewer: Viewer, flt: filters.LoanFilter, threshold_cny: int) -> dict[str, Any]:
    """Every headline figure with 环比 and 同比 — the same function as ``GET /api/v1/stats/overview``."""
    with get_engine().connect() as conn:
        return kpis.bureau_overview(conn, viewer.org, flt, date.today(), threshold_cny)


def definition(key: str, lang: str) -> str:
    """How a figure is defined, in the language (the API's ``definitions``)."""
    entry = DEFINITIONS.get(key)
    return "" if entry is None else entry["en" if lang == "en" else "zh"]


def default_period(viewer: Viewer, today: date | None = None) -> tuple[date, date, int | None]:
    """The landing period: this year to today (DESIGN.md §6: a default period ends at today). If the
    viewer's data has nothing this year, the latest year with data, whole — returned as the third
    element so the page can say so."""
    today = today or date.today()
    _first, last = data_period(viewer)
    if last is None or last >= date(today.year, 1, 1):
        return date(today.year, 1, 1), today, None
    return date(last.year, 1, 1), date(last.year, 12, 31), last.year


MAP_METRICS = kpis.MAP_METRICS


def map_values(
    viewer: Viewer, flt: filters.LoanFilter, level: str, metric: str
) -> tuple[dict[str, int | float | None], list[stats.BreakdownRow]]:
    """Per-region figures for a choropleth: region code → financing (fen), loan count, NPL ratio
    (stock at period end) or compensation paid (fen); and the breakdown rows of the level.

    ``level`` is the breakdown (province, city or county) within ``flt``'s province / region; one
    grouped query per metric (:func:`api.stats.kpis.region_values`), each region's value equal to
    the overview filtered to that region.
    """
    with get_engine().connect() as conn:
        return kpis.region_values(conn, viewer.org, flt, level, metric, date.today())


def breakdowns(viewer: Viewer, flt: filters.LoanFilter, keys: tuple[str, ...]) -> dict[str, list[stats.BreakdownRow]]:
    with get_engine().connect() as conn:
        return stats.breakdowns(conn, viewer.org, flt, keys)


def timeseries(viewer: Viewer, flt: filters.LoanFilter, granularity: str) -> list[stats.SeriesPoint]:
    with get_engine().connect() as conn:
        return stats.timeseries(conn, viewer.org, flt, granularity)


def loans(viewer: Viewer, flt: filters.LoanFilter, limit: int = 200) -> tuple[int, list[stats.LoanRow]]:
    with get_engine().connect() as conn:
        return stats.loans(conn, viewer.org, flt, 0, limit)


def may_list_loans(viewer: Viewer) -> bool:
    return filters.may_list_loans(viewer.org)


def data_period(viewer: Viewer) -> tuple[date | None, date | None]:
    with get_engine().connect() as conn:
        return stats.data_period(conn, viewer.org)


def bank_options(viewer: Viewer) -> list[tuple[int, str]]:
    """Banks appearing in the viewer's aggregate scope (for the bank filter)."""
    with get_engine().connect() as conn:
        return pledge_reports.bank_options(conn, viewer.org)




def compensation_by_party(viewer: Viewer, flt: filters.LoanFilter) -> list[dict[str, Any]] | None:
    """Compensation paid per party on the loans behind the figures (None before risk-sharing)."""
    with get_engine().connect() as conn:
        rows = stats.compensation_by_party(conn, viewer.org, flt) or []
    return [r.as_dict() for r in rows]


# ------------------------------------------------------------------ bank page


def collateral_report(viewer: Viewer, as_of: date, ltv_limit_pct: int) -> stats_collateral.CollateralReport:
    with get_engine().connect() as conn:
        return stats_collateral.collateral_report(conn, viewer.org, as_of=as_of, ltv_limit_pct=ltv_limit_pct)


def monitoring_alerts(viewer: Viewer) -> list[dict[str, Any]] | None:
    """Alerts of the pledge module's latest monitoring run by code and severity (None if absent)."""
    with get_engine().connect() as conn:
        return pledge_reports.monitoring_alerts(conn, viewer.org)


# ------------------------------------------------------------------ guarantor page


def guarantor_view(viewer: Viewer, limit: int = 200) -> dict[str, Any] | None:
    """Claims queue, review results, payouts by party and the ledger per party (None before
    the risk-sharing tables exist). Claims are those the organisation filed or pays into."""
    with get_engine().connect() as conn:
        return risk_sharing_reports.guarantor_view(conn, viewer.org, limit)


# ------------------------------------------------------------------ ABS page


def abs_view(viewer: Viewer, pool_id: int | None = None, strat_by: str = "industry") -> dict[str, Any] | None:
    """Pools the organisation owns, the selected pool's stratification, and the latest
    deterministic and Monte Carlo runs of deals on it (None before securitisation exists)."""
    with get_engine().connect() as conn:
        return securitization_reports.abs_view(conn, viewer.org, pool_id, strat_by)


# ------------------------------------------------------------------ valuation reports (bank page)




def valuation_list(viewer: Viewer, limit: int = 100) -> list[dict[str, Any]] | None:
    """The organisation's latest completed valuations (None before the valuation tables exist)."""
    with get_engine().connect() as conn:
        return valuation_reports.valuation_list(conn, viewer.org, limit)


def latest_valuation_report(viewer: Viewer) -> dict[str, Any] | None:
    """The newest completed valuation's Monte Carlo histogram (bin edges in fen, counts) and
    tornado bars (input, value at low, value at high, fen), from its stored result."""
    with get_engine().connect() as conn:
        return valuation_reports.latest_valuation_report(conn, viewer.org)


# ------------------------------------------------------------------ programme page (rule cost, break-even fee)

PAGE_ACCESS["programme"] = {"fund", "bureau", "guarantor", "reguarantor"}


def programme_rules() -> list[tuple[str, str]]:
    """(rule id, name) the programme page offers: shipped presets and stored rule families."""
    from api.stats import programme

    return programme.rule_ids()


def programme_view(viewer: Viewer, rule_id: str, province_code: str | None, seed: int, n_paths: int = 1_000,
                   years: int = 1) -> dict[str, Any]:
    """What the rule costs each payer on the book the viewer may aggregate, and the break-even fee vs the cap."""
    from api.stats import programme

    return programme.programme_view(viewer.org, rule_id, province_code, seed, n_paths, years)


# ------------------------------------------------------------------ bank page: watchlist, stress run, provisions


def watchlist(viewer: Viewer, limit: int = 10) -> dict[str, Any]:
    """The latest scoring run(s) the viewer may see: the ``limit`` loans of highest 12-month PD with drivers
    and change since the previous run (``GET /api/v1/early-warning/watchlist``), and ``n_alerts``, the loans
    at or above the alert PD (that endpoint's ``count`` with ``alerts_only``). ``runs`` is empty before any run."""
    from api.early_warning import reports as ew_reports

    with get_engine().connect() as conn:
        top = ew_reports.watchlist(conn, viewer.org, limit=limit)
        alerts = ew_reports.watchlist(conn, viewer.org, alerts_only=True, limit=1)["count"] if top["runs"] else 0
    return {**top, "n_alerts": int(alerts)}


def latest_stress_run(viewer: Viewer) -> dict[str, Any] | None:
    """The organisation's latest succeeded stress run ``{id, kind, scenario, data_cut, created_at, result}``
    (``GET /api/v1/stress-runs``), None before the first."""
    from api.early_warning import reports as ew_reports

    with get_engine().connect() as conn:
        return ew_reports.stress_summary(conn, viewer.org)


def stress_scenario_labels() -> dict[str, str]:
    """Scenario name → Chinese name, for runs whose stored result does not carry it (Monte Carlo)."""
    from pledge.stress.scenarios import load_scenarios

    return {k: s.label_zh for k, s in load_scenarios()[0].items()}


def provisions(viewer: Viewer, as_of: date) -> dict[str, Any]:
    """Provisions by five-class category of the live loans the viewer may see (``GET /api/v1/pledge/provisions``)."""
    with get_engine().connect() as conn:
        return pledge_reports.provisions_by_class(conn, viewer.org, as_of)


# ------------------------------------------------------------------ transactions page (IP transaction register volumes)

PAGE_ACCESS["transactions"] = {"bureau"}


def transaction_region(viewer: Viewer, requested: str | None) -> str | None:
    """The register region prefix the viewer looks at: a regional bureau is held to its own region (a
    request outside it falls back to the region); a national one sees the requested province or city."""
    def stem(code: str) -> str:
        return code[:2] if code.endswith("0000") else code[:4] if code.endswith("00") else code

    own = viewer.org.region_code if viewer.kind == "bureau" else None
    want = stem(requested) if requested else None
    if own and (want is None or not want.startswith(stem(own))):
        return stem(own)
    return want


def transaction_volumes(viewer: Viewer, date_from: date, date_to: date, region_code: str | None) -> dict[str, Any]:
    """The register's volumes for a period and region — the same function as ``GET
    /api/v1/ip-transactions/reports/volumes`` — in total (by pricing method, trading mode and crossed), and the
    same report per IP type and per calendar year of the period (types with no transaction left out)."""
    from contextlib import contextmanager

    from api.core.db import get_session
    from api.transactions import reports as tx_reports
    from ipfin.reference import IP_TYPES

    flt = {"date_from": date_from, "date_to": date_to, "region_prefix": transaction_region(viewer, region_code)}
    with contextmanager(get_session)() as s:
        total = tx_reports.volumes(s, flt)
        by_type = {k: tx_reports.volumes(s, {**flt, "ip_type": k}) for k in IP_TYPES}
        by_year = {y: tx_reports.volumes(s, {**flt, "date_from": max(date(y, 1, 1), date_from),
                                             "date_to": min(date(y, 12, 31), date_to)})
                   for y in range(date_from.year, date_to.year + 1)}
    return {"region_prefix": flt["region_prefix"], "total": total,
            "by_ip_type": {k: v for k, v in by_type.items() if v.total_count}, "by_year": by_year}
