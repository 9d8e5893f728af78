"""Settings, read once from the environment (and an optional .env file)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ROOT = Path(__file__).resolve().parents[2]


class Settings(BaseSettings):
    """Every knob the service reads; documented in the README's configuration table."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = f"sqlite:///{ROOT / 'data' / 'khuyencong.db'}"
    port: int = 8000
    host: str = "127.0.0.1"
    workers: int = 1
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Reverse proxies whose X-Forwarded-For / X-Forwarded-Proto / X-Request-ID are believed (IPs or CIDRs).
    # Empty: none, the peer address is the client (as recorded in the audit trail).
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    schemas_dir: Path = ROOT / "survey_schemas"
    # Request bodies: ceilings declared per route (`max_body_size=`): ordinary JSON writes, batches, CSV uploads.
    max_body_bytes: int = 1_048_576
    max_batch_body_bytes: int = 16 * 1_048_576
    max_upload_bytes: int = 32 * 1_048_576
    rate_limit_per_minute: int = 1200
    # Failed credentials (app.access.throttle): per client address, every credential is refused (429) for a
    # while after this many failures within the window; per key name, wrong ones are 429 instead of 401
    # (a correct one always passes). Counted per worker process.
    auth_failure_limit_per_address: int = Field(default=20, ge=1)
    auth_failure_limit_per_name: int = Field(default=10, ge=1)
    auth_failure_window_seconds: int = Field(default=300, ge=1)
    # Per form link (every worker): responses stored plus facilities registered in any 60 s (a link is public).
    form_link_rate_limit_per_minute: int = 120
    sqlite_synchronous: Literal["FULL", "NORMAL", "EXTRA"] = "FULL"
    sqlite_busy_timeout_ms: int = 30_000
    db_pool_size: int = 10
    # Attachments (photos, files): local disk by default; an S3-compatible bucket when a bucket is named
    # (credentials from the usual AWS_* environment variables or instance role).
    attachments_dir: Path = ROOT / "data" / "attachments"
    attachments_s3_bucket: str = ""
    attachments_s3_endpoint_url: str = ""
    attachments_s3_region: str = ""
    attachments_s3_prefix: str = "attachments/"
    max_attachment_bytes: int = 16 * 1_048_576
    # OpenRosa: the largest submission post (XML + attachments) a device may send; Collect splits bigger
    # submissions over several posts (advertised as X-OpenRosa-Accept-Content-Length).
    openrosa_max_body_bytes: int = 16 * 1_048_576
    # OpenRosa: what a submission's instance XML may hold, checked while it is parsed (refused with a 400 at
    # the first element past a limit): nesting depth, elements, characters of text and attribute values.
    openrosa_max_xml_depth: int = Field(default=32, ge=4)
    openrosa_max_xml_elements: int = Field(default=5_000, ge=10)
    openrosa_max_xml_text_chars: int = Field(default=1_048_576, ge=1024)
    # Planner workspace (/planner/): how long a signed-in session lasts (it also ends at sign-out or revocation).
    planner_session_hours: float = Field(default=12.0, gt=0, le=24 * 30)
    feed_session_hours: float = Field(default=24.0, gt=0, le=24 * 30)  # /v1/sessions tokens (Central: 24 h)
    # Webhooks (app.webhooks): the deliverer runs inside the server ("inline") unless "off" (then run
    # `khuyencong deliver` beside it); hook URLs may point at private/loopback addresses only if allowed.
    webhook_delivery: Literal["inline", "off"] = "inline"
    webhook_allow_private_urls: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    # Seconds to wait after each failed attempt (8 attempts over ~27.6 hours); the last failure gives up.
    webhook_retry_delays: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    webhook_poll_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_workers: int = Field(default=4, ge=1, le=64)

    @field_validator("cors_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [o.strip() for o in value.split(",") if o.strip()]
        return value

    @field_validator("webhook_retry_delays", mode="before")
    @classmethod
    def _split_delays(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(v) for v in value.split(",") if v.strip()]
        return value

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        # Portals send their key in Authorization; a wildcard origin would let any site use a leaked key.
        if "*" in value:
            raise ValueError("CORS_ORIGINS must list origins explicitly; '*' is refused")
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
