"""Configuration: environment variables, overridden by the command line."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from dispatch.sessions import SessionPolicy
from dispatch.units import RankingPolicy

_RANKING = RankingPolicy()  # its defaults are the defaults of the ranking settings


class ConfigError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str = ""
    redis_url: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    allowed_origins: frozenset[str] = frozenset()  # empty: the console's own address
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    body_limit: int = 64 * 1024
    session_idle: timedelta = timedelta(minutes=60)
    session_absolute: timedelta = timedelta(hours=12)
    cookie_secure: bool = False
    login_limit_per_account: int = 5
    login_limit_per_address: int = 20
    login_window: timedelta = timedelta(minutes=15)
    heartbeat_seconds: float = 15.0
    backfill_limit: int = 1000
    ws_queue: int = 1000
    poll_seconds: float = 1.0
    redis_prefix: str = "seus"
    booking_hold: timedelta = timedelta(minutes=30)  # a held booking expires after this
    pairing_code_ttl: timedelta = timedelta(minutes=10)  # a tablet's pairing code lives this long
    log_level: str = "INFO"
    log_format: str = "auto"  # "json" | "text" | "auto" (text at a terminal, else JSON)
    road_factor: float = _RANKING.road_factor  # unit ranking: road km per straight km
    average_speed_kmh: float = _RANKING.speed_kmh
    position_max_age: timedelta = _RANKING.position_max_age  # older positions are not used
    position_interval_seconds: int = 60  # the tablet's position while assigned, this often
    position_history: timedelta = timedelta(hours=24)  # positions kept beyond the last one
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def origins(self) -> frozenset[str]:
        """Origins allowed for websockets and cookie-authenticated writes.

        By default the console's own address (and its loopback names); behind a proxy or on
        another interface, set SEUS_ALLOWED_ORIGINS to the address people type.
        """
        if self.allowed_origins:
            return self.allowed_origins
        hosts = {self.host, "127.0.0.1", "localhost"}
        schemes = ("http", "https")
        return frozenset(f"{scheme}://{h}:{self.port}" for h in hosts for scheme in schemes)

    @property
    def ranking_policy(self) -> RankingPolicy:
        return RankingPolicy(
            road_factor=self.road_factor,
            speed_kmh=self.average_speed_kmh,
            position_max_age=self.position_max_age,
        )

    @property
    def session_policy(self) -> SessionPolicy:
        return SessionPolicy(idle=self.session_idle, absolute=self.session_absolute)

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...]) -> str:
    """One of `choices` (the first by default)."""
    value = env.get(name, choices[0]).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def _networks(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    try:
        return tuple(ipaddress.ip_network(p.strip()) for p in raw.split(",") if p.strip())
    except ValueError as exc:
        raise ConfigError(f"SEUS_TRUSTED_PROXIES: {exc}") from None


def from_env(env: Mapping[str, str] | None = None) -> Settings:
    """Settings from the environment (documented in README.md, section Configuration)."""
    env = os.environ if env is None else env
    origins = frozenset(
        o.strip().rstrip("/") for o in env.get("SEUS_ALLOWED_ORIGINS", "").split(",") if o.strip()
    )
    return Settings(
        database_url=env.get("DATABASE_URL", ""),
        redis_url=env.get("REDIS_URL", ""),
        data_dir=Path(env.get("SEUS_DATA_DIR", "var")),
        allowed_origins=origins,
        trusted_proxies=_networks(env.get("SEUS_TRUSTED_PROXIES", "")),
        body_limit=_int(env, "SEUS_BODY_LIMIT", 64 * 1024, minimum=1024),
        session_idle=timedelta(seconds=_int(env, "SEUS_SESSION_IDLE_SECONDS", 3600, minimum=1)),
        session_absolute=timedelta(
            seconds=_int(env, "SEUS_SESSION_ABSOLUTE_SECONDS", 12 * 3600, minimum=1)
        ),
        cookie_secure=env.get("SEUS_COOKIE_SECURE", "") in ("1", "true", "yes"),
        login_limit_per_account=_int(env, "SEUS_LOGIN_LIMIT_ACCOUNT", 5, minimum=1),
        login_limit_per_address=_int(env, "SEUS_LOGIN_LIMIT_ADDRESS", 20, minimum=1),
        login_window=timedelta(seconds=_int(env, "SEUS_LOGIN_WINDOW_SECONDS", 900, minimum=1)),
        heartbeat_seconds=_float(env, "SEUS_HEARTBEAT_SECONDS", 15.0),
        backfill_limit=_int(env, "SEUS_BACKFILL_LIMIT", 1000, minimum=1),
        ws_queue=_int(env, "SEUS_WS_QUEUE", 1000, minimum=1),
        poll_seconds=_float(env, "SEUS_POLL_SECONDS", 1.0),
        redis_prefix=env.get("SEUS_REDIS_PREFIX", "seus"),
        booking_hold=timedelta(minutes=_int(env, "SEUS_HOLD_MINUTES", 30, minimum=1)),
        pairing_code_ttl=timedelta(minutes=_int(env, "SEUS_PAIRING_CODE_MINUTES", 10, minimum=1)),
        log_level=env.get("SEUS_LOG_LEVEL", "INFO").upper(),
        log_format=_choice(env, "SEUS_LOG_FORMAT", ("auto", "json", "text")),
        road_factor=_float(env, "SEUS_ROAD_FACTOR", _RANKING.road_factor),
        average_speed_kmh=_float(env, "SEUS_AVERAGE_SPEED_KMH", _RANKING.speed_kmh),
        position_max_age=timedelta(
            minutes=_int(env, "SEUS_POSITION_MAX_AGE_MINUTES", 30, minimum=1)
        ),
        position_interval_seconds=_int(env, "SEUS_POSITION_INTERVAL_SECONDS", 60, minimum=10),
        position_history=timedelta(hours=_int(env, "SEUS_POSITION_HISTORY_HOURS", 24, minimum=1)),
    )
