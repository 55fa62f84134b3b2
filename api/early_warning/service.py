"""Glue between the stored book and :mod:`pledge.early_warning`: fit, score, store, alert, validate.

The model is fitted on the stored book's own history — loans live at each of the three yearly
cuts before the data cut, labelled by a default in the 12 months after that cut — when there is
enough of it (:data:`MIN_ROWS` rows, :data:`MIN_DEFAULTS` defaults and as many non-defaults);
otherwise the run uses the documented :class:`~pledge.early_warning.TrueHazardModel` coefficients
as a prior and says so (``model_kind="prior"`` and the note). A fitted run also stores its
out-of-time check (train on the two older cuts, test on the latest) when both parts are big enough.
Loans at or above the run's ``alert_pd`` get a ``pledge_alert`` row of code ``early_warning``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from datetime import date, timedelta
from typing import Any

import numpy as np
from sqlalchemy import delete
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from api.audit import service as audit
from api.core.errors import FieldError, NotFound
from api.core.tenancy import loan_visibility
from api.early_warning.book import BookCut, read_cut
from api.early_warning.models import EWRun, EWScore, ModelKind
from api.identity.models import Organisation, OrgKind, User
from api.pledge.models import PledgeAlert
from api.pledge.service import today
from pledge.early_warning import (
    CATEGORICAL,
    NUMERIC,
    FeatureMatrix,
    ScoreModel,
    TrueHazardModel,
    ValidationReport,
    feature_spec_fingerprint,
    fit_score_model,
    run_rows,
    score_book,
    validate,
)
from pledge.monitoring import AlertCode

MIN_ROWS = 200
MIN_DEFAULTS = 20
ALERT_CODE = AlertCode.EARLY_WARNING.value
ALERT_SEVERITY = "warning"
HISTORY_CUTS = 3


def scoring_scope(org: Organisation) -> ColumnElement[bool]:
    """The loans an organisation scores: the loans it may see row by row (a bank: its own)."""
    return loan_visibility(org)


def _past_cut(data_cut: date, years: int) -> date:
    try:
        return data_cut.replace(year=data_cut.year - years)
    except ValueError:  # 29 February
        return data_cut.replace(year=data_cut.year - years, day=28)


def _stack(cuts: list[BookCut]) -> tuple[FeatureMatrix | None, np.ndarray]:
    parts = [c for c in cuts if c.features is not None]
    if not parts:
        return None, np.zeros(0, np.int8)
    X = FeatureMatrix(np.vstack([c.features.values for c in parts]))  # type: ignore[union-attr]
    return X, np.concatenate([c.outcome() for c in parts])


def _enough(y: np.ndarray) -> bool:
    return y.size >= MIN_ROWS and int(y.sum()) >= MIN_DEFAULTS and int((1 - y).sum()) >= MIN_DEFAULTS


def fit_or_prior(session: Session, scope: ColumnElement[bool], data_cut: date, X_now: FeatureMatrix
                 ) -> tuple[ScoreModel, str, int, str, dict[str, Any] | None]:
    """(model, kind, training rows, note, out-of-time metrics or None) for a run at ``data_cut``."""
    conn = session.connection()
    cuts = [read_cut(conn, scope, _past_cut(data_cut, k), current=False) for k in range(1, HISTORY_CUTS + 1)]
    X, y = _stack(cuts)
    if X is None or not _enough(y):
        n, d = int(y.size), int(y.sum())
        note = (f"prior: TrueHazardModel.default() coefficients, not fitted — the stored history has {n} loan-years "
                f"with {d} defaults (a fit needs {MIN_ROWS} rows, {MIN_DEFAULTS} defaults and {MIN_DEFAULTS} "
                "non-defaults)")
        return prior_model(X_now, data_cut), ModelKind.prior.value, 0, note, None
    model = fit_score_model(X, y, data_cut=data_cut.isoformat())
    metrics = None
    X_old, y_old = _stack(cuts[1:])
    X_test, y_test = _stack(cuts[:1])
    testable = X_test is not None and y_test.size >= 10 and 0 < y_test.sum() < y_test.size
    if X_old is not None and testable and _enough(y_old):
        challenger = fit_score_model(X_old, y_old, data_cut=cuts[1].data_cut.isoformat())
        assert X_test is not None
        metrics = report_json(validate(challenger, X_test, y_test), out_of_time=cuts[0].data_cut)
    note = f"logistic fitted on {y.size} loan-years ({int(y.sum())} defaults) at the {HISTORY_CUTS} cuts before"
    return model, ModelKind.logistic.value, int(y.size), note, metrics


def prior_model(X: FeatureMatrix, data_cut: date) -> ScoreModel:
    """The documented true-model coefficients as a :class:`ScoreModel`, explained against ``X``'s mean row."""
    truth = TrueHazardModel.default()
    w, tables = truth.coefficient_vector()
    mean = X.values[:, list(NUMERIC)].mean(axis=0)
    freq = tuple(np.bincount(X.values[:, j].astype(np.intp), minlength=t.size) / X.n
                 for j, t in zip(CATEGORICAL, tables, strict=True))
    payload = json.dumps([truth.intercept, w.tolist(), [t.tolist() for t in tables], feature_spec_fingerprint()])
    version = "prior-" + hashlib.sha256(payload.encode()).hexdigest()[:16]
    return ScoreModel("logistic", version, None, data_cut.isoformat(), 0, float("nan"), truth.intercept, w, tables,
                      mean, freq)


def coefficients_json(m: ScoreModel) -> dict[str, Any]:
    """What :func:`model_from_json` needs to rebuild the model (raw-unit coefficients, training means)."""
    return {"intercept": m.intercept, "numeric_coef": m.numeric_coef.tolist(),
            "categorical_coef": [t.tolist() for t in m.categorical_coef], "numeric_mean": m.numeric_mean.tolist(),
            "category_frequency": [f.tolist() for f in m.category_frequency]}


def model_from_json(run: EWRun) -> ScoreModel:
    c = run.coefficients
    return ScoreModel("logistic", run.model_version, None, run.data_cut.isoformat(), run.n_train, float("nan"),
                      float(c["intercept"]), np.array(c["numeric_coef"]),
                      tuple(np.array(t) for t in c["categorical_coef"]),
                      np.array(c["numeric_mean"]), tuple(np.array(f) for f in c["category_frequency"]))


def report_json(r: ValidationReport, *, out_of_time: date | None = None) -> dict[str, Any]:
    """A validation report as JSON (AUC, KS, Brier, Hosmer–Lemeshow and the calibration table)."""
    out = {k: v for k, v in asdict(r).items() if k != "calibration"}
    out["calibration"] = [{**asdict(b), "z": b.z} for b in r.calibration]
    if out_of_time is not None:
        out["test_cut"] = out_of_time.isoformat()
    return out


def create_run(session: Session, user: User | None, org: Organisation, data_cut: date | None, alert_pd: float) -> EWRun:
    """Score the organisation's live loans at ``data_cut`` (default today), store the run and its alerts."""
    cut = data_cut or today()
    if cut > today():
        raise FieldError("data_cut", "the data cut must not be in the future")
    scope = scoring_scope(org)
    book = read_cut(session.connection(), scope, cut, current=True)
    if book.features is None:
        raise FieldError("data_cut", f"no live loans to score on {cut.isoformat()}")
    model, kind, n_train, note, metrics = fit_or_prior(session, scope, cut, book.features)
    run = score_book(model, book.features, np.array(book.loan_ids).astype(str), cut.isoformat())
    rows = run_rows(run)
    row = EWRun(org_id=int(org.id or 0), data_cut=cut, model_version=model.model_version, model_kind=kind,
                note=note[:500],
                n_loans=book.n, n_train=n_train, alert_pd=alert_pd, metrics=metrics,
                coefficients=coefficients_json(model), created_by_user_id=user.id if user else None,
                n_alerts=sum(1 for r in rows if r["pd_12m"] >= alert_pd))
    session.add(row)
    session.flush()
    _store_scores(session, row, rows, book)
    audit.record(session, user, "ew_run", row.id, "create", after={
        "data_cut": cut.isoformat(), "model_version": row.model_version, "model_kind": kind, "n_loans": row.n_loans,
        "n_alerts": row.n_alerts, "alert_pd": alert_pd})
    return row


def _store_scores(session: Session, run: EWRun, rows: list[dict[str, Any]], book: BookCut) -> None:
    """Scores in bulk, and an ``early_warning`` alert (replacing one of the same day) per alerting loan."""
    scores, alerts = [], []
    for r in rows:
        lid = int(r["loan_id"])
        alert = r["pd_12m"] >= run.alert_pd
        drivers = [{**d, "contribution": round(d["contribution"], 6)} for d in r["drivers"]]
        scores.append({"run_id": run.id, "loan_id": lid, "pd": r["pd_12m"], "rank": r["rank"], "bucket": r["bucket"],
                       "alert": alert, "drivers": drivers})
        if alert:
            top = ", ".join(d["label_zh"] for d in drivers if d["direction"] == "raises")
            alerts.append({"loan_id": lid, "ip_asset_id": None, "code": ALERT_CODE, "severity": ALERT_SEVERITY,
                           "message": f"12-month PD {r['pd_12m']:.1%} ≥ threshold {run.alert_pd:.1%}; {top}"[:500],
                           "as_of": run.data_cut, "data": {"run_id": run.id, "pd": r["pd_12m"], "rank": r["rank"],
                                                           "model_version": run.model_version, "drivers": drivers}})
    if scores:
        session.execute(EWScore.__table__.insert(), scores)  # type: ignore[attr-defined]
    ids = [int(i) for i in book.loan_ids]
    for i in range(0, len(ids), 900):
        session.execute(delete(PledgeAlert).where(col(PledgeAlert.loan_id).in_(ids[i:i + 900]),
                                                  col(PledgeAlert.code) == ALERT_CODE,
                                                  col(PledgeAlert.as_of) == run.data_cut))
    if alerts:
        session.execute(PledgeAlert.__table__.insert(), alerts)  # type: ignore[attr-defined]


def run_visibility(org: Organisation) -> ColumnElement[bool]:
    """Runs an organisation may open: its own (admin: all)."""
    if org.kind == OrgKind.admin:
        return col(EWRun.id).is_not(None)
    return col(EWRun.org_id) == org.id


def get_run(session: Session, org: Organisation, run_id: int) -> EWRun:
    run = session.exec(select(EWRun).where(EWRun.id == run_id, run_visibility(org))).first()
    if run is None:
        raise NotFound(f"early-warning run {run_id} not found")
    return run


def list_runs(session: Session, org: Organisation, offset: int, limit: int) -> tuple[int, list[EWRun]]:
    from sqlalchemy import func

    count = session.exec(select(func.count()).select_from(EWRun).where(run_visibility(org))).one()
    rows = session.exec(select(EWRun).where(run_visibility(org)).order_by(col(EWRun.id).desc())
                        .offset(offset).limit(limit)).all()
    return int(count), list(rows)


def previous_run(session: Session, run: EWRun) -> EWRun | None:
    """The organisation's run before ``run`` (for migration)."""
    return session.exec(select(EWRun).where(EWRun.org_id == run.org_id, col(EWRun.id) < run.id)
                        .order_by(col(EWRun.id).desc())).first()


def validate_run(session: Session, org: Organisation, run: EWRun, data_cut: date, n_bins: int) -> dict[str, Any]:
    """AUC, KS, Brier and calibration of the run's model on the stored book at a past ``data_cut``."""
    if data_cut + timedelta(days=365) > today():
        raise FieldError("data_cut", "the 12-month outcome window after this cut has not closed yet")
    book = read_cut(session.connection(), scoring_scope(org), data_cut, current=False)
    if book.features is None:
        raise FieldError("data_cut", f"no loans were live on {data_cut.isoformat()}")
    y = book.outcome()
    if y.size < n_bins or y.min() == y.max():
        raise FieldError("data_cut", f"{y.size} loans with {int(y.sum())} defaults: both outcomes and at least "
                                     f"{n_bins} loans are needed")
    out = report_json(validate(model_from_json(run), book.features, y, n_bins))
    out.update({"run_id": run.id, "model_version": run.model_version, "data_cut": data_cut.isoformat(),
                "out_of_time": data_cut >= run.data_cut})
    return out
