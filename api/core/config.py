"""Settings from the environment (prefix ``IPFIN_``), as in the FastAPI full-stack template."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET_KEY = "ipfin-demo-secret-change-me"
DEFAULT_DATA_DIR = Path("data")


class Settings(BaseSettings):
    """Runtime configuration. Every field can be set as ``IPFIN_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="IPFIN_", env_file=".env", extra="ignore")

    project_name: str = "ipfin"
    api_v1_str: str = "/api/v1"
    database_url: str = Field(
        default=f"sqlite:///{DEFAULT_DATA_DIR / 'ipfin.db'}",
        description="SQLAlchemy URL; SQLite file by default, postgresql+psycopg://... in production",
    )
    secret_key: str = DEFAULT_SECRET_KEY
    demo_mode: bool = False
    access_token_expire_minutes: int = 8 * 60
    session_cookie_name: str = "ipfin_session"
    cookie_secure: bool | None = Field(
        default=None, description="Secure flag on the session cookie; unset means on, except in demo mode"
    )
    login_max_failures_per_account: int = Field(default=5, ge=1, description="failed logins per account per window")
    login_max_failures_per_address: int = Field(default=20, ge=1, description="failed logins per address per window")
    login_window_seconds: int = Field(default=15 * 60, ge=1, description="sliding window of the login throttle")
    max_body_bytes: int = Field(default=1_048_576, ge=1024, description="largest request body (JSON, forms)")
    max_upload_bytes: int = Field(default=20 * 1_048_576, ge=1024, description="largest multipart upload (xlsx)")
    dask_scheduler: str | None = None
    bureau_loan_level_access: bool = True
    inclusive_loan_threshold_cny: int = 10_000_000
    demo_loans: int = 20_000
    result_cache: bool = Field(default=True, description="serve repeated statistics requests from the per-data-"
                                                           "version cache (api.core.result_cache)")

    @property
    def session_cookie_secure(self) -> bool:
        """Whether the session cookie is ``Secure``: always, unless demo mode (plain http on localhost)."""
        return self.cookie_secure if self.cookie_secure is not None else not self.demo_mode

    def check_secret(self) -> None:
        """Refuse to run with the published default secret outside demo mode."""
        if not self.demo_mode and self.secret_key == DEFAULT_SECRET_KEY:
            raise RuntimeError(
                "IPFIN_SECRET_KEY is the published default; set a secret (e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`) or run with --demo"
            )
        if len(self.secret_key) < 16:
            raise RuntimeError("IPFIN_SECRET_KEY must be at least 16 characters")


@lru_cache
def get_settings() -> Settings:
    return Settings()


def reset_settings() -> None:
    """Forget cached settings (tests and the CLI change the environment)."""
    get_settings.cache_clear()
