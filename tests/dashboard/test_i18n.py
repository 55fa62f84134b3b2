"""Chinese throughout: every label, enum and unit the dashboard shows has a Chinese form without English words."""

from __future__ import annotations

import re

import pytest

from dashboard import i18n
from dashboard.i18n import ENUMS, LOAN_STATUS, bucket_label, enum_name, fmt_pp_lang, t

# File-format names shown as they are in Chinese software; nothing else in Latin letters (see test_browser).
ALLOWED = {"CSV", "Excel"}


def english_words(text: str) -> set[str]:
    """Latin words of 3+ letters, ignoring ``{placeholders}`` filled in at run time."""
    return {w for w in re.findall(r"[A-Za-z]{3,}", re.sub(r"\{\w+\}", "", text)) if w not in ALLOWED}


@pytest.mark.parametrize("key", sorted(i18n._T))
def test_every_label_has_a_chinese_form_without_english_words(key: str) -> None:
    zh, en = i18n._T[key]
    assert zh and en
    assert english_words(zh) == set(), f"{key}: {zh}"


@pytest.mark.parametrize("kind", sorted(ENUMS))
def test_every_enum_value_has_a_chinese_name(kind: str) -> None:
    for code, (zh, en) in ENUMS[kind].items():
        assert zh and en and english_words(zh) == set(), f"{kind}.{code}: {zh}"
        assert enum_name(kind, code, "zh") == zh and enum_name(kind, code, "en") == en


def test_loan_statuses_are_chinese() -> None:
    assert all(english_words(zh) == set() for zh, _ in LOAN_STATUS.values())
    assert i18n.status_name("overdue", "zh") == "逾期"


def test_the_english_words_bureaus_saw_on_chinese_pages_now_have_chinese_forms() -> None:
    """The issue's list: no valuation, overdue, critical, paid (CNY) (revenue_scale and invention_patent
    are translated by valuation.report.LABELS and ipfin.reference.IP_TYPES)."""
    from ipfin.reference import IP_TYPES
    from valuation.report import LABELS

    assert bucket_label("no valuation", "zh") == "无评估值"
    assert enum_name("alert", "overdue", "zh") == "逾期"
    assert enum_name("severity", "critical", "zh") == "严重"
    assert t("paid", "zh") == "支付金额"
    assert LABELS["revenue_scale"][0] == "收入水平"
    assert IP_TYPES["invention_patent"][0] == "发明专利"


def test_unknown_codes_are_shown_as_stored_and_lookups_ignore_case() -> None:
    assert enum_name("party", "someone_new", "zh") == "someone_new"
    assert enum_name("tranche", "Senior", "zh") == "优先级"


def test_million_cny_bands_become_wan_yuan_in_chinese() -> None:
    assert bucket_label("1-5M", "zh") == "100-500万元"
    assert bucket_label(">=20M", "zh") == "≥2000万元"
    assert bucket_label("≤0.5M", "zh") == "≤50万元"
    assert bucket_label("181-365", "zh") == "181-365"
    assert bucket_label("1-5M", "en") == "1-5M"


def test_ratio_changes_read_in_percentage_points() -> None:
    assert fmt_pp_lang(0.004, "zh") == "▲ +0.40 个百分点"
    assert fmt_pp_lang(-0.0001, "en") == "▼ −0.01 pp"
    assert fmt_pp_lang(None, "zh") == "—"
    assert i18n.fmt_change_lang(-0.039, "zh") == "▼ −3.9%"


def test_every_monitoring_alert_and_severity_the_pledge_module_emits_has_a_chinese_name() -> None:
    from pledge.monitoring import AlertCode, Severity

    assert {str(c) for c in AlertCode} <= set(ENUMS["alert"])
    assert {str(s) for s in Severity} <= set(ENUMS["severity"])


def test_every_claim_status_has_a_chinese_name() -> None:
    from api.risk_sharing.models import ClaimStatus

    assert {str(s) for s in ClaimStatus} <= set(ENUMS["claim_status"])
