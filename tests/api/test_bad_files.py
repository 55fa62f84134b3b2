"""Hostile input that used to give 500s or cost seconds: huge decimal amounts (1e30), CSV files
with a bare carriage return or an oversized field, and a tiny .xlsx holding 200,000 rows. Each is
a 422 naming the field (or the file), quickly, storing nothing."""

from __future__ import annotations

import copy
import io
import time
import tracemalloc
import zipfile
from decimal import Decimal
from typing import Any

import pytest

from api.pledge import io as pledge_io
from ipfin.money import MoneyError, cny_to_fen, fen_to_cny, round_half_even_fen
from tests.valuation.test_api_audit_fixes import EXAMPLE, small

pytestmark = pytest.mark.db

TAPE_HEADER = ("loan_id,borrower,balance_cny,annual_rate,term_months,annual_pd,recovery_rate,recovery_lag_months,"
               "industry,region")


# ---------------------------------------------------------------- money far past any real amount


def test_money_conversions_are_exact_at_any_size_and_refuse_absurd_input() -> None:
    assert cny_to_fen("1e30") == 10**32 and cny_to_fen("-1e30", allow_negative=True) == -(10**32)
    assert fen_to_cny(10**32) == Decimal("1000000000000000000000000000000.00")
    assert cny_to_fen("123456789012345678901234567890.12") == 12345678901234567890123456789012
    assert round_half_even_fen(Decimal("1e30")) == 10**30 and round_half_even_fen(Decimal("2.5")) == 2
    assert cny_to_fen("12.3400") == 1234 and fen_to_cny(-5) == Decimal("-0.05")
    for bad in ("1E+400", "1" * 60, "1.005", "NaN"):
        with pytest.raises(MoneyError):
            cny_to_fen(bad)


@pytest.mark.parametrize("amount", ["1e30", "-1e30", "1E+400"])
def test_a_valuation_cash_flow_of_1e30_is_422_naming_the_field(client: Any, make_user: Any, amount: str) -> None:
    bank = make_user("bank", "officer")
    d = small(copy.deepcopy(EXAMPLE))
    for k in ("scores", "market", "cost", "real_option"):
        d.pop(k, None)
    d.update(weights={"income": 1.0}, income={
        "method": "with_and_without", "economic_life_years": 3,
        "cash_flow_with_cny": [amount, "1100000.00", "1200000.00"],
        "cash_flow_without_cny": ["600000.00", "650000.00", "700000.00"]})
    r = client.post("/api/v1/valuations", json=d, headers=bank.headers)
    assert r.status_code == 422, r.text
    assert r.json()["detail"][0]["loc"][:3] == ["body", "income", "cash_flow_with_cny"]


# ---------------------------------------------------------------- CSV with a bare CR, oversized fields


def _import(client: Any, actor: Any, data: bytes, name: str = "loans.csv") -> Any:
    return client.post("/api/v1/pledge/loans/import", files={"file": (name, data, "text/csv")}, headers=actor.headers)


def test_a_csv_with_a_bare_carriage_return_is_read_as_a_line_break_not_a_500(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    row = "示例\r公司,91500100MA5U0000X1,500100,C,small,invention_patent,CN1,t,granted,1.00,0.04,2025-01-01,2026-01-01"
    r = _import(client, bank, (",".join(pledge_io.IMPORT_COLUMNS) + "\n" + row + "\n").encode())
    assert r.status_code == 422, r.text  # the broken row is reported by row and field, nothing imported
    assert all(e["field"] for e in r.json()["detail"]["errors"])
    tape = f"{TAPE_HEADER}\rA1,甲,1000000.00,0.05,12,0.02,0.3,6,C,440300\rA2,乙\r,5,x\n".encode()
    up = client.post("/api/v1/pools/upload", data={"name": "cr"}, files={"file": ("t.csv", tape, "text/csv")},
                     headers=bank.headers)
    assert up.status_code == 201, up.text  # old-Mac line ends are line ends: the good row makes the pool
    assert up.json()["pool"]["balance_cny"] == "1000000.00" and up.json()["errors"]


def test_a_csv_field_beyond_the_csv_limit_is_422_on_file(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    huge = ('"' + "x" * 200_000 + '"').encode()
    r = _import(client, bank, (",".join(pledge_io.IMPORT_COLUMNS) + "\n").encode() + huge + b"\n")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"], r.text
    up = client.post("/api/v1/pools/upload", data={"name": "big"}, headers=bank.headers,
                     files={"file": ("t.csv", TAPE_HEADER.encode() + b"\n" + huge + b"\n", "text/csv")})
    assert up.status_code == 422 and up.json()["detail"][0]["loc"] == ["body", "file"], up.text


def test_a_broken_xlsx_is_422_on_file(client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    r = _import(client, bank, b"PK\x03\x04 not really a workbook", name="loans.xlsx")
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "file"]
    up = client.post("/api/v1/pools/upload", data={"name": "x"}, headers=bank.headers,
                     files={"file": ("t.xlsx", b"PK\x03\x04 nope", "application/octet-stream")})
    assert up.status_code == 422 and up.json()["detail"][0]["loc"] == ["body", "file"]


# ---------------------------------------------------------------- a small file with a huge sheet


def _tall_xlsx(rows: int) -> bytes:
    """A minimal workbook written by hand (as an attacker would): a header of the import columns, then
    ``rows`` one-cell rows, and no ``<dimension>`` record."""
    head = "".join(f'<c r="{chr(65 + i)}1" t="inlineStr"><is><t>{c}</t></is></c>'
                   for i, c in enumerate(pledge_io.IMPORT_COLUMNS))
    body = "".join(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>' for r in range(2, rows + 2))
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    files = {
        "[Content_Types].xml": '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
        'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships'
        '+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override '
        'PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": f'<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        f'relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>',
        "xl/workbook.xml": f'<?xml version="1.0"?><workbook {ns} xmlns:r="{rel}"><sheets><sheet name="S" sheetId="1" '
        'r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
        f'package/2006/relationships"><Relationship Id="rId1" Type="{rel}/worksheet" '
        'Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<?xml version="1.0"?><worksheet {ns}><sheetData><row r="1">{head}</row>'
        f"{body}</sheetData></worksheet>",
    }
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            z.writestr(name, text)
    return buf.getvalue()


@pytest.mark.slow
def test_a_200k_row_xlsx_is_refused_at_the_row_limit_quickly_and_in_little_memory(
        client: Any, make_user: Any) -> None:
    bank = make_user("bank", "officer")
    data = _tall_xlsx(200_000)
    tracemalloc.start()
    t0 = time.perf_counter()
    r = _import(client, bank, data, name="loans.xlsx")
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    print(f"\n200,000-row xlsx ({len(data) // 1024} kB): {r.status_code} in {seconds:.2f} s, "
          f"peak +{peak / 2**20:.1f} MB")
    assert r.status_code == 422, r.text
    assert r.json()["detail"]["errors"][0]["field"] == "file" and "5000" in r.json()["detail"]["errors"][0]["message"]
    assert peak < 50 * 2**20  # the whole sheet read into memory cost +217 MB
    assert seconds < 10  # reading all 200,000 rows took 18.8 s; now the work ends at row 5,001
