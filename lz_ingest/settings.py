"""One frozen settings object, built from the command line and the environment in one place.

`load_settings` is the only reader of environment variables in lz-ingest: callers pass
`os.environ` in, so everything below is a pure function of its arguments and files on disk.
"""

from __future__ import annotations

import json
import os
import pwd
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from irods.password_obfuscation import decode

from lz_ingest.errors import ConfigError
from lz_ingest.settings_tls import tls_options

IRODS_VARIABLES = ("IRODS_HOST", "IRODS_PORT", "IRODS_USER_NAME", "IRODS_ZONE_NAME", "IRODS_PASSWORD")
REDIS_SCHEMES = ("redis", "rediss", "unix")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# TimedRotatingFileHandler's `when` values (W0-W6 are weekdays)
ROTATION_WHENS = ("S", "M", "H", "D", "MIDNIGHT", *(f"W{day}" for day in range(7)))
# Environment-file keys that become IrodsSettings fields; every other key is kept in `options`
_CORE_ENV_KEYS = (
    "irods_host",
    "irods_port",
    "irods_zone_name",
    "irods_user_name",
    "irods_authentication_scheme",
)
_URL_PASSWORD = re.compile(r"(?P<head>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]*:)[^@\s]+@")

NOT_CONFIGURED = (
    "iRODS is not configured: pass --irods-env FILE, run iinit (~/.irods/irods_environment.json), "
    "set IRODS_HOST, IRODS_PORT, IRODS_USER_NAME, IRODS_ZONE_NAME and IRODS_PASSWORD, "
    "or start a local zone with `lz-ingest irods-lite`"
)


class FrozenMap(Mapping[str, Any]):
    """A read-only, picklable mapping (MappingProxyType cannot cross process boundaries)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __getstate__(self) -> dict[str, Any]:
        return self._data

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._data = state


def redacted_url(url: str) -> str:
    """The URL with the password of its user part replaced by ***."""
    return _URL_PASSWORD.sub(r"\g<head>***@", url)


@dataclass(frozen=True)
class IrodsSettings:
    """How to reach and authenticate to the iRODS zone; `options` holds the other environment-file keys."""

    host: str
    port: int
    zone: str
    user: str
    password: str = field(default="", repr=False)
    authentication_scheme: str = "native"
    env_file: Path | None = None
    options: Mapping[str, Any] = field(default_factory=FrozenMap, hash=False)
    # A password read from .irodsA is a native one even under a PAM scheme (what iinit stores there)
    password_from_auth_file: bool = False

    def session_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for `irods.session.iRODSSession(**kwargs)` (its keyword form)."""
        kwargs: dict[str, Any] = dict(self.options)
        kwargs.update(host=self.host, port=self.port, zone=self.zone, user=self.user, password=self.password)
        kwargs["authentication_scheme"] = self._scheme_for_session()
        return kwargs

    def _scheme_for_session(self) -> str | tuple[str, str]:
        scheme = self.authentication_scheme.lower()
        if scheme.startswith("pam") and self.password_from_auth_file:
            return ("native", scheme)
        return scheme


@dataclass(frozen=True)
class RedisSettings:
    """Where Redis is; `url` None means the embedded per-user server under `embedded_dir`."""

    url: str | None = None
    embedded_dir: Path | None = None

    def __repr__(self) -> str:
        url = None if self.url is None else redacted_url(self.url)
        return f"RedisSettings(url={url!r}, embedded_dir={self.embedded_dir!r})"

    __str__ = __repr__


@dataclass(frozen=True)
class LogSettings:
    """The old framework's --log_* and --profile_* options."""

    log_filename: Path | None = None
    log_level: str = "INFO"
    log_when: str | None = None
    log_interval: int = 1
    profile: bool = False
    profile_filename: Path | None = None
    profile_level: str = "INFO"
    profile_when: str | None = None
    profile_interval: int = 1


@dataclass(frozen=True)
class Settings:
    """Everything configurable, built once by the CLI and handed down."""

    redis: RedisSettings
    log: LogSettings
    state_dir: Path  # lz-ingest's own state: $XDG_STATE_HOME/lz-ingest
    irods: IrodsSettings | None = None  # None only when load_settings(require_irods=False) found none


def load_settings(environ: Mapping[str, str], *, require_irods: bool = True, **cli_values: Any) -> Settings:
    """Build the settings from the environment and command-line values.

    `cli_values` are option values by their Python names (irods_env, redis_url, redis_host,
    redis_port, redis_db, log_*, profile*); None means "not given", and other keys are
    ignored so a command can pass all of its parameters through.
    With `require_irods` False, a missing or broken iRODS configuration leaves `irods` None.
    """
    given = {key: value for key, value in cli_values.items() if value is not None}
    state_dir = state_home(environ) / "lz-ingest"
    return Settings(
        redis=load_redis_settings(environ, given, state_dir / "redis"),
        log=load_log_settings(given),
        state_dir=state_dir,
        irods=_irods_or_none(environ, given.get("irods_env"), require_irods),
    )


def _irods_or_none(environ: Mapping[str, str], env_file: Any, required: bool) -> IrodsSettings | None:
    try:
        return load_irods_settings(environ, None if env_file is None else Path(env_file))
    except ConfigError:
        if required:
            raise
        return None


def home_dir(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("HOME") or pwd.getpwuid(os.getuid()).pw_dir)


def state_home(environ: Mapping[str, str]) -> Path:
    """$XDG_STATE_HOME, or its default ~/.local/state."""
    xdg = environ.get("XDG_STATE_HOME")
    return Path(xdg) if xdg else home_dir(environ) / ".local" / "state"


def embedded_redis_dir(environ: Mapping[str, str]) -> Path:
    return state_home(environ) / "lz-ingest" / "redis"


# --- iRODS ---------------------------------------------------------------------------------------


def load_irods_settings(environ: Mapping[str, str], env_file: Path | None = None) -> IrodsSettings:
    """--irods-env FILE, else the five IRODS_* variables, else the iCommands' environment file;
    the IRODS_* TLS variables override the file's TLS keys (settings_tls.py)."""
    return _with_tls(_load_irods_settings(environ, env_file), environ)


def _load_irods_settings(environ: Mapping[str, str], env_file: Path | None) -> IrodsSettings:
    if env_file is not None:
        return irods_from_env_file(env_file, _auth_file(environ, env_file))
    from_variables = irods_from_variables(environ)
    if from_variables is not None:
        return from_variables
    default_env_file = _default_env_file(environ)
    if "IRODS_ENVIRONMENT_FILE" in environ or default_env_file.exists():
        return irods_from_env_file(default_env_file, _auth_file(environ, default_env_file))
    raise ConfigError(NOT_CONFIGURED)


def _with_tls(irods: IrodsSettings, environ: Mapping[str, str]) -> IrodsSettings:
    where = f"in {irods.env_file}" if irods.env_file else "from the IRODS_* variables"
    return replace(irods, options=FrozenMap(tls_options(irods.options, environ, where)))


def irods_from_variables(environ: Mapping[str, str]) -> IrodsSettings | None:
    """Settings from IRODS_HOST, IRODS_PORT, IRODS_USER_NAME, IRODS_ZONE_NAME, IRODS_PASSWORD, if all set."""
    if not all(environ.get(name) for name in IRODS_VARIABLES):
        return None
    return IrodsSettings(
        host=environ["IRODS_HOST"],
        port=_port(environ["IRODS_PORT"], "IRODS_PORT"),
        zone=environ["IRODS_ZONE_NAME"],
        user=environ["IRODS_USER_NAME"],
        password=environ["IRODS_PASSWORD"],
    )


def irods_from_env_file(env_file: Path, auth_file: Path | None = None) -> IrodsSettings:
    """Settings from an iRODS environment file and, when it exists, its scrambled password file."""
    env = _read_env_file(env_file)
    missing = [key for key in _CORE_ENV_KEYS[:4] if key not in env]
    if missing:
        raise ConfigError(f"iRODS environment file {env_file} lacks {', '.join(missing)}")
    scheme = str(env.get("irods_authentication_scheme", "native"))
    password = _read_auth_file(auth_file) if auth_file is not None else None
    _require_password(password, scheme, env["irods_user_name"], auth_file)
    return IrodsSettings(
        host=str(env["irods_host"]),
        port=_port(env["irods_port"], f"irods_port in {env_file}"),
        zone=str(env["irods_zone_name"]),
        user=str(env["irods_user_name"]),
        password=password or "",
        authentication_scheme=scheme,
        env_file=env_file,
        options=FrozenMap({k: v for k, v in env.items() if k not in _CORE_ENV_KEYS}),
        password_from_auth_file=password is not None,
    )


def _default_env_file(environ: Mapping[str, str]) -> Path:
    named = environ.get("IRODS_ENVIRONMENT_FILE")
    return Path(named) if named else home_dir(environ) / ".irods" / "irods_environment.json"


def _auth_file(environ: Mapping[str, str], env_file: Path) -> Path:
    """IRODS_AUTHENTICATION_FILE, else the env file's irods_authentication_file, else ~/.irods/.irodsA."""
    named = environ.get("IRODS_AUTHENTICATION_FILE")
    if named:
        return Path(named)
    in_env_file = _read_env_file(env_file).get("irods_authentication_file")
    return Path(in_env_file) if in_env_file else home_dir(environ) / ".irods" / ".irodsA"


def _read_env_file(env_file: Path) -> dict[str, Any]:
    try:
        env = json.loads(env_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"iRODS environment file {env_file} does not exist") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read iRODS environment file {env_file}: {exc}") from None
    if not isinstance(env, dict):
        raise ConfigError(f"iRODS environment file {env_file} is not a JSON object")
    return env


def _read_auth_file(auth_file: Path) -> str | None:
    """The password scrambled in an .irodsA file (iinit's format), None when there is no such file."""
    try:
        scrambled = auth_file.read_text(encoding="utf-8").rstrip("\n")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read iRODS authentication file {auth_file}: {exc}") from None
    if len(scrambled) < 8:
        raise ConfigError(f"iRODS authentication file {auth_file} is not in iinit's format")
    decoded: str = decode(scrambled)  # python-irodsclient's password_obfuscation is unannotated
    return decoded


def _require_password(password: str | None, scheme: str, user: str, auth_file: Path | None) -> None:
    if password is None and scheme.lower() == "native" and user != "anonymous":
        raise ConfigError(f"no iRODS password: {auth_file} does not exist (run iinit to create it)")


def _port(value: Any, what: str) -> int:
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{what} is not a port number: {value!r}") from None
    if not 0 < port < 65536:
        raise ConfigError(f"{what} is not a port number: {value!r}")
    return port


# --- Redis ---------------------------------------------------------------------------------------


def load_redis_settings(environ: Mapping[str, str], given: Mapping[str, Any], embedded_dir: Path) -> RedisSettings:
    """--redis-url, else --redis_host/--redis_port/--redis_db, else LZ_INGEST_REDIS_URL, else embedded."""
    old_style = any(name in given for name in ("redis_host", "redis_port", "redis_db"))
    if "redis_url" in given and old_style:
        raise ConfigError("give either --redis-url or --redis_host/--redis_port/--redis_db, not both")
    url = given.get("redis_url")
    if url is None and old_style:
        url = _old_style_url(given.get("redis_host"), given.get("redis_port"), given.get("redis_db"))
    if url is None:
        url = environ.get("LZ_INGEST_REDIS_URL") or None
    return RedisSettings(url=None if url is None else check_redis_url(str(url)), embedded_dir=embedded_dir)


def _old_style_url(host: Any, port: Any, db: Any) -> str:
    return f"redis://{host or 'localhost'}:{_port(port or 6379, '--redis_port')}/{_db_number(db or 0)}"


def _db_number(value: Any) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = -1
    if number < 0:
        raise ConfigError(f"--redis_db is not a database number: {value!r}")
    return number


def check_redis_url(url: str) -> str:
    """The URL itself when it is redis://, rediss:// or unix://, else ConfigError."""
    parts = urlsplit(url)
    if parts.scheme not in REDIS_SCHEMES:
        raise ConfigError(f"Redis URL {redacted_url(url)} must start with redis://, rediss:// or unix://")
    if parts.scheme == "unix" and not parts.path:
        raise ConfigError(f"Redis URL {redacted_url(url)} names no socket path")
    if parts.scheme != "unix" and not parts.hostname:
        raise ConfigError(f"Redis URL {redacted_url(url)} names no host")
    return url


# --- logging -------------------------------------------------------------------------------------


def load_log_settings(given: Mapping[str, Any]) -> LogSettings:
    """LogSettings from the --log_* / --profile_* values, checked."""
    settings = LogSettings(
        log_filename=_path_or_none(given.get("log_filename")),
        log_level=_level(given.get("log_level", "INFO"), "--log_level"),
        log_when=_when(given.get("log_when"), "--log_when"),
        log_interval=_interval(given.get("log_interval", 1), "--log_interval"),
        profile=bool(given.get("profile", False)),
        profile_filename=_path_or_none(given.get("profile_filename")),
        profile_level=_level(given.get("profile_level", "INFO"), "--profile_level"),
        profile_when=_when(given.get("profile_when"), "--profile_when"),
        profile_interval=_interval(given.get("profile_interval", 1), "--profile_interval"),
    )
    if settings.profile and settings.profile_filename is None:
        raise ConfigError("--profile needs --profile_filename FILE")
    return settings


def _path_or_none(value: Any) -> Path | None:
    return None if value is None else Path(value)


def _level(value: Any, option: str) -> str:
    level = str(value).upper()
    if level not in LOG_LEVELS:
        raise ConfigError(f"{option} must be one of {', '.join(LOG_LEVELS)}, not {value!r}")
    return level


def _when(value: Any, option: str) -> str | None:
    if value is None:
        return None
    when = str(value).upper()
    if when not in ROTATION_WHENS:
        raise ConfigError(f"{option} must be one of {', '.join(ROTATION_WHENS)} (any case), not {value!r}")
    return when


def _interval(value: Any, option: str) -> int:
    try:
        interval = int(value)
    except (TypeError, ValueError):
        interval = 0
    if interval < 1:
        raise ConfigError(f"{option} must be a positive whole number, not {value!r}")
    return interval
