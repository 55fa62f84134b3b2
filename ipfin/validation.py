"""Validation helpers, in one place: identifiers, codes, money, rates and dates.

Plain functions (``check_*`` raise ``ValueError`` with a message a user can act on;
``is_valid_*`` return a bool) and pydantic ``Annotated`` types built from them, so the
API rejects a bad value with a 422 that names the field.
"""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

from ipfin import regions
from ipfin.money import MoneyError, cny_to_fen
from ipfin.reference import INDUSTRY_SECTIONS

# ------------------------------------------------------------------ unified social credit code
# GB 32100-2015 统一社会信用代码: 18 characters from a 31-character alphabet (no I, O, Z, S, V).
# Characters 9-17 are the organisation code (GB 11714, its own mod-11 check in position 17);
# character 18 is the mod-31 check over the first 17.
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUE = {c: i for i, c in enumerate(USCC_ALPHABET)}
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
ORG_CODE_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def uscc_check_char(first17: str) -> str:
    """The GB 32100-2015 check character for the first 17 characters of a credit code."""
    total = sum(_USCC_VALUE[c] * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def org_code_check_char(first8: str) -> str:
    """The GB 11714 check character of a 9-character organisation code."""
    total = sum(ORG_CODE_ALPHABET.index(c) * w for c, w in zip(first8, ORG_CODE_WEIGHTS, strict=True))
    c = 11 - total % 11
    return "X" if c == 10 else "0" if c == 11 else str(c)


def check_credit_code(code: str) -> str:
    """Validate and normalise (upper-case, stripped) a unified social credit code."""
    if not isinstance(code, str):
        raise ValueError("credit code must be a string")
    c = code.strip().upper()
    if len(c) != 18:
        raise ValueError("unified social credit code must have 18 characters")
    bad = sorted({ch for ch in c if ch not in _USCC_VALUE})
    if bad:
        raise ValueError(f"unified social credit code has characters not allowed by GB 32100-2015: {bad}")
    if not c[2:8].isdigit():
        raise ValueError("characters 3-8 of a credit code must be the 6-digit region code")
    if org_code_check_char(c[8:16]) != c[16]:
        raise ValueError("organisation-code check character (position 17, GB 11714) is wrong")
    if uscc_check_char(c[:17]) != c[17]:
        raise ValueError("check character (position 18, GB 32100-2015) is wrong")
    return c


def is_valid_credit_code(code: str) -> bool:
    try:
        check_credit_code(code)
    except ValueError:
        return False
    return True


# ------------------------------------------------------------------ CN patent application number
# 12 digits since 2003-10-01 (year 4, type 1, serial 7) or 8 digits before (year 2, type 1,
# serial 5), then "." and a check digit: Σ digit_i × w_i mod 11 with weights 2,3,...,9,2,3,...
# cycling over the digits from the left; 10 is written X. Type: 1 invention, 2 utility model,
# 3 design, 8 PCT invention entering China, 9 PCT utility model entering China.
PATENT_TYPE_DIGITS = {"1": "invention", "2": "utility_model", "3": "design", "8": "invention", "9": "utility_model"}
_PATENT_RE = re.compile(r"^(?:CN|ZL)?\s*(\d{8}|\d{12})\.?([0-9X])$")


def patent_check_digit(body: str) -> str:
    total = sum(int(d) * (2 + i % 8) for i, d in enumerate(body))
    r = total % 11
    return "X" if r == 10 else str(r)


def check_patent_number(number: str) -> str:
    """Validate a CN patent application number; returns it normalised as ``CN<body>.<check>``."""
    if not isinstance(number, str):
        raise ValueError("patent number must be a string")
    s = re.sub(r"[\s]", "", number.strip().upper())
    m = _PATENT_RE.match(s)
    if not m:
        raise ValueError(
            "patent application number must be 12 digits (or 8 before 2003) and a check digit, e.g. CN202310123456.6"
        )
    body, check = m.groups()
    type_digit = body[4] if len(body) == 12 else body[2]
    if type_digit not in PATENT_TYPE_DIGITS:
        raise ValueError(f"patent type digit {type_digit!r} is not 1, 2, 3, 8 or 9")
    if len(body) == 12 and not 1985 <= int(body[:4]) <= date.today().year + 1:
        raise ValueError("patent application year is out of range")
    expected = patent_check_digit(body)
    if expected != check:
        raise ValueError(f"patent check digit is wrong (expected {expected})")
    return f"CN{body}.{check}"


def is_valid_patent_number(number: str) -> bool:
    try:
        check_patent_number(number)
    except ValueError:
        return False
    return True


def patent_kind(number: str) -> str:
    """'invention', 'utility_model' or 'design' from a valid application number."""
    body = check_patent_number(number)[2:].split(".")[0]
    return PATENT_TYPE_DIGITS[body[4] if len(body) == 12 else body[2]]


# ------------------------------------------------------------------ regions and industries


def check_region_code(code: str) -> str:
    """A current GB/T 2260 region code (6 digits): province, city or county (MCA 2024 list).

    A retired code is refused with a message naming its current code(s); see ``ipfin.regions``.
    """
    if not isinstance(code, str) or not re.fullmatch(r"\d{6}", code.strip()):
        raise ValueError("region code must be 6 digits (GB/T 2260)")
    c = code.strip()
    if not regions.is_current(c):
        change = regions.change(c)
        if change is not None:
            raise ValueError(
                f"region code {c} ({change.old_name}) was retired in {change.changed_in} (GB/T 2260); "
                f"use {' or '.join(change.new_codes)}"
            )
        raise ValueError(f"unknown region code {c} (GB/T 2260)")
    return c


def province_of(region_code: str) -> str:
    """The province-level code (xx0000) of a region code (a retired code is normalised first)."""
    try:
        return regions.province_of(region_code)
    except ValueError as exc:
        raise ValueError(f"unknown province for region {region_code}: {exc}") from exc


def check_industry(section: str) -> str:
    """A GB/T 4754-2017 section letter (A–T)."""
    if not isinstance(section, str) or section.strip().upper() not in INDUSTRY_SECTIONS:
        raise ValueError("industry must be a GB/T 4754-2017 section letter A-T")
    return section.strip().upper()


# ------------------------------------------------------------------ money, rates, dates


MAX_MONEY_CNY = Decimal(10) ** 12
"""Largest amount accepted at the boundary: 1 trillion CNY (10^14 fen, far inside a BIGINT)."""


def check_money_cny(value: Any) -> Decimal:
    """A CNY amount: a finite, non-negative number with at most two decimals (fen), ≤ 1 trillion CNY."""
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("amount must be finite")
        value = repr(value)  # JSON numbers arrive as float: take their shortest decimal text
    try:
        fen = cny_to_fen(value)
    except MoneyError as exc:
        raise ValueError(str(exc)) from exc
    if fen > MAX_MONEY_CNY * 100:
        raise ValueError("amount must not exceed 1,000,000,000,000 CNY")
    return Decimal(fen) / 100


def check_rate(value: Any, *, upper: float = 1.0, inclusive_upper: bool = False) -> float:
    """An annual rate as a fraction, 0 ≤ r < 1 unless stated (1.5% is 0.015)."""
    if isinstance(value, bool):
        raise ValueError("rate must be a number")
    try:
        r = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError("rate must be a number") from exc
    if not math.isfinite(r):
        raise ValueError("rate must be finite")
    if r < 0 or (r > upper if inclusive_upper else r >= upper):
        raise ValueError(f"rate must be in [0, {upper}{']' if inclusive_upper else ')'} (a fraction, 1.5% = 0.015)")
    return r


def check_finite(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    try:
        x = float(value)
    except (TypeError, ValueError) as exc:
        raise ValueError("must be a number") from exc
    if not math.isfinite(x):
        raise ValueError("must be finite (no NaN or infinity)")
    return x


def check_date_range(start: date, end: date, *, what: str = "end date") -> None:
    if end <= start:
        raise ValueError(f"{what} must be after the start date")


def check_not_future(d: date) -> date:
    if d > date.today():
        raise ValueError("date must not be in the future")
    return d


CreditCode = Annotated[str, AfterValidator(check_credit_code), Field(examples=["91350100M000100Y43"])]
PatentNumber = Annotated[str, AfterValidator(check_patent_number), Field(examples=["CN202310123456.6"])]
RegionCode = Annotated[str, AfterValidator(check_region_code), Field(examples=["500100"])]
IndustrySection = Annotated[str, AfterValidator(check_industry), Field(examples=["C"])]
MoneyCNY = Annotated[
    Decimal,
    BeforeValidator(check_money_cny),
    Field(description="CNY, at most 2 decimals, non-negative", examples=["1000000.00"]),
]
Rate = Annotated[float, BeforeValidator(check_rate), Field(description="annual rate as a fraction, 0 ≤ r < 1")]
FiniteFloat = Annotated[float, BeforeValidator(check_finite)]
PastDate = Annotated[date, AfterValidator(check_not_future)]


# ------------------------------------------------------------------ text normalisation
# The policy for every string the API receives (enforced centrally by api.core.middleware):
# * text is stored as sent: no Unicode normalisation of names and titles (a Chinese company name
#   keeps its full-width brackets 「（）」);
# * control characters are refused: C0 except TAB, LF and CR; DEL; C1 (U+0080-U+009F); NUL included;
# * lone surrogates (U+D800-U+DFFF, possible through JSON ``\ud800`` escapes) are refused;
# * a value that is a number, code or identifier typed with non-ASCII digits (full-width ``１００``,
#   ``ＣＮ２０２３…``, Arabic-Indic ``١٠٠``) is refused rather than silently read as ASCII: once its
#   compatibility forms are folded it is plain ASCII, so it was meant as one; digits inside other
#   text (``第１分公司``) are left alone.

_ALLOWED_CONTROLS = frozenset("\t\n\r")


def control_character(text: str) -> str | None:
    """The first forbidden control character or lone surrogate in ``text``, described; else None."""
    for i, ch in enumerate(text):
        o = ord(ch)
        if (o < 0x20 and ch not in _ALLOWED_CONTROLS) or 0x7F <= o <= 0x9F:
            return f"control character U+{o:04X} at position {i}"
        if 0xD800 <= o <= 0xDFFF:
            return f"lone surrogate U+{o:04X} at position {i}"
    return None


def _fold_digits(text: str) -> str:
    import unicodedata  # imported here: this section is appended to a module other helpers share

    folded = unicodedata.normalize("NFKC", text)
    return "".join(str(unicodedata.decimal(c)) if not c.isascii() and c.isdecimal() else c for c in folded)


def non_ascii_digits(text: str) -> bool:
    """True when ``text`` is a number or code written with non-ASCII digits (``"１００"``, ``"CN２０２３"``)."""
    if text.isascii() or not any(c.isdecimal() and not c.isascii() for c in text):
        return False
    return _fold_digits(text).isascii()


def text_problem(text: str) -> tuple[str, str] | None:
    """Why ``text`` is refused at the API boundary, as (error type, message), or None if it is fine."""
    bad = control_character(text)
    if bad:
        return "string_control_character", f"text must not contain control characters or lone surrogates ({bad})"
    if non_ascii_digits(text):
        return "string_non_ascii_digits", "write numbers and codes with ASCII digits 0-9 (not full-width ０-９)"
    return None
