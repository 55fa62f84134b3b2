"""All tables. Domain modules ``api/models/<domain>.py`` are imported here when present, so
Alembic and the app see every table on ``SQLModel.metadata``."""

from importlib import import_module
from importlib.util import find_spec

from api.models.core import *  # noqa: F403
from api.models.core import (  # noqa: F401  (explicit names for type checkers)
    AuditEvent,
    Borrower,
    IPAsset,
    IPType,
    Job,
    LegalStatus,
    Loan,
    LoanCollateral,
    LoanStatus,
    Organisation,
    OrgKind,
    User,
    UserRole,
)

DOMAIN_MODEL_MODULES = ("valuation", "pledge", "risk_sharing", "securitization")
for _name in DOMAIN_MODEL_MODULES:
    if find_spec(f"api.models.{_name}") is not None:
        import_module(f"api.models.{_name}")
