"""Every table, so that ``SQLModel.metadata`` (the app and Alembic) sees them all.

Code imports a table from its domain (``api.pledge.models.Loan``); this module exists only to
register them.
"""

from api.audit import models as audit_models
from api.core import idempotency as idempotency_models
from api.early_warning import models as early_warning_models
from api.identity import models as identity_models
from api.jobs import models as jobs_models
from api.pledge import models as pledge_models
from api.risk_sharing import models as risk_sharing_models
from api.securitization import models as securitization_models
from api.stats import models as stats_models
from api.transactions import models as transactions_models
from api.valuation import models as valuation_models

DOMAIN_MODELS = (
    identity_models,
    pledge_models,
    audit_models,
    jobs_models,
    valuation_models,
    risk_sharing_models,
    securitization_models,
    early_warning_models,
    idempotency_models,
    transactions_models,
    stats_models,
)
