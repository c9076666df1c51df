"""Settings: where iRODS, Redis and logging configuration come from, and what wins."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pytest
from irods.password_obfuscation import encode
from irods.session import iRODSSession

from lz_ingest.errors import ConfigError
from lz_ingest.settings import (
    IrodsSettings,
    LogSettings,
    RedisSettings,
    load_irods_settings,
    load_settings,
)

PASSWORD = "s3cr3t-Pa55"
SSL_KEYS = {
    "irods_client_server_negotiation": "request_server_negotiation",
    "irods_client_server_policy": "CS_NEG_REQUIRE",
    "irods_ssl_verify_server": "none",
    "irods_encryption_algorithm": "AES-256-CBC",
    "irods_encryption_key_size": 32,
    "irods_encryption_num_hash_rounds": 16,
    "irods_encryption_salt_size": 8,
}
VARIABLES = {
    "IRODS_HOST": "vars.example.org",
    "IRODS_PORT": "1248",
    "IRODS_USER_NAME": "alice",
    "IRODS_ZONE_NAME": "varZone",
    "IRODS_PASSWORD": "var-password",
}


def write_env_file(path: Path, **extra: Any) -> Path:
    env = {
        "irods_host": "env.example.org",
        "irods_port": 1247,
        "irods_user_name": "rods",
        "irods_zone_name": "tempZone",
        **extra,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(env))
    return path


def write_irods_a(path: Path, password: str = PASSWORD) -> Path:
    """An .irodsA as iinit writes it, through python-irodsclient's own encoder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(encode(password))
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def icommands_home(home: Path, **extra: Any) -> dict[str, str]:
    write_env_file(home / ".irods" / "irods_environment.json", **extra)
    write_irods_a(home / ".irods" / ".irodsA")
    return {"HOME": str(home)}


# --- iRODS ---------------------------------------------------------------------------------------


def test_env_file_and_irodsa_round_trip(home: Path) -> None:
    irods = load_irods_settings(icommands_home(home, **SSL_KEYS))
    assert (irods.host, irods.port, irods.zone, irods.user) == ("env.example.org", 1247, "tempZone", "rods")
    assert irods.password == PASSWORD
    assert irods.env_file == home / ".irods" / "irods_environment.json"
    assert dict(irods.options) == SSL_KEYS


def test_session_kwargs_are_accepted_by_irodssession_keyword_form(home: Path) -> None:
    irods = load_irods_settings(icommands_home(home, **SSL_KEYS))
    session = iRODSSession(**irods.session_kwargs())  # configures a pool; connects only when used
    try:
        account = session.pool.account
        assert (account.host, account.port, account.client_user, account.password) == (
            "env.example.org",
            1247,
            "rods",
            PASSWORD,
        )
        assert account.client_server_policy == "CS_NEG_REQUIRE"
        assert account.encryption_key_size == 32
    finally:
        session.cleanup()


def test_pam_password_from_irodsa_is_used_as_native(home: Path) -> None:
    irods = load_irods_settings(icommands_home(home, irods_authentication_scheme="pam_password"))
    assert irods.session_kwargs()["authentication_scheme"] == ("native", "pam_password")


def test_irods_environment_and_authentication_file_variables_are_honoured(tmp_path: Path, home: Path) -> None:
    environ = icommands_home(home)
    environ["IRODS_ENVIRONMENT_FILE"] = str(write_env_file(tmp_path / "other" / "env.json", irods_host="other"))
    environ["IRODS_AUTHENTICATION_FILE"] = str(write_irods_a(tmp_path / "other" / "auth", "other-pw"))
    irods = load_irods_settings(environ)
    assert (irods.host, irods.password) == ("other", "other-pw")


def test_auth_file_named_in_env_file_is_used(tmp_path: Path, home: Path) -> None:
    auth = write_irods_a(tmp_path / "elsewhere" / "irodsA", "named-pw")
    irods = load_irods_settings(icommands_home(home, irods_authentication_file=str(auth)))
    assert irods.password == "named-pw"


def test_named_environment_file_that_is_missing_is_an_error(tmp_path: Path, home: Path) -> None:
    environ = icommands_home(home) | {"IRODS_ENVIRONMENT_FILE": str(tmp_path / "absent.json")}
    with pytest.raises(ConfigError, match="absent.json does not exist"):
        load_irods_settings(environ)


def test_all_five_irods_variables_configure_irods(home: Path) -> None:
    irods = load_irods_settings({"HOME": str(home), **VARIABLES})
    assert (irods.host, irods.port, irods.zone, irods.user, irods.password) == (
        "vars.example.org",
        1248,
        "varZone",
        "alice",
        "var-password",
    )
    assert irods.env_file is None


def test_irods_variables_win_over_the_default_env_file(home: Path) -> None:
    irods = load_irods_settings(icommands_home(home) | VARIABLES)
    assert irods.host == "vars.example.org"


def test_four_of_five_irods_variables_are_ignored(home: Path) -> None:
    partial = {k: v for k, v in VARIABLES.items() if k != "IRODS_PASSWORD"}
    irods = load_irods_settings(icommands_home(home) | partial)
    assert irods.host == "env.example.org"


def test_explicit_env_file_wins_over_everything(tmp_path: Path, home: Path) -> None:
    explicit = write_env_file(tmp_path / "explicit.json", irods_host="explicit")
    irods = load_irods_settings(icommands_home(home) | VARIABLES, explicit)
    assert (irods.host, irods.password) == ("explicit", PASSWORD)


def test_nothing_configured_is_one_line_config_error(home: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings({"HOME": str(home)})
    message = str(raised.value)
    assert "\n" not in message
    assert "irods-lite" in message and "IRODS_HOST" in message and "--irods-env" in message


def test_nothing_configured_is_fine_when_irods_is_not_required(home: Path) -> None:
    assert load_settings({"HOME": str(home)}, require_irods=False).irods is None


def test_env_file_missing_required_keys_is_an_error(tmp_path: Path, home: Path) -> None:
    env_file = tmp_path / "env.json"
    env_file.write_text(json.dumps({"irods_host": "h"}))
    with pytest.raises(ConfigError, match="lacks irods_port, irods_zone_name, irods_user_name"):
        load_irods_settings({"HOME": str(home)}, env_file)


def test_env_file_that_is_not_json_is_an_error(tmp_path: Path, home: Path) -> None:
    env_file = tmp_path / "env.json"
    env_file.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read iRODS environment file"):
        load_irods_settings({"HOME": str(home)}, env_file)


def test_native_login_without_irodsa_is_an_error(tmp_path: Path, home: Path) -> None:
    env_file = write_env_file(tmp_path / "env.json")
    with pytest.raises(ConfigError, match="run iinit"):
        load_irods_settings({"HOME": str(home)}, env_file)


def test_anonymous_needs_no_password(tmp_path: Path, home: Path) -> None:
    env_file = write_env_file(tmp_path / "env.json", irods_user_name="anonymous")
    assert load_irods_settings({"HOME": str(home)}, env_file).password == ""


def test_bad_port_is_an_error(home: Path) -> None:
    with pytest.raises(ConfigError, match="IRODS_PORT is not a port number"):
        load_irods_settings({"HOME": str(home), **VARIABLES, "IRODS_PORT": "http"})


def test_password_is_absent_from_repr_and_str(home: Path) -> None:
    settings = load_settings(icommands_home(home), redis_url="redis://:redis-pw@localhost:6379/0")
    for text in (repr(settings), str(settings), repr(settings.irods), str(settings.redis)):
        assert PASSWORD not in text
        assert "redis-pw" not in text


def test_settings_cross_process_boundaries(home: Path) -> None:
    settings = load_settings(icommands_home(home, **SSL_KEYS))
    assert pickle.loads(pickle.dumps(settings)) == settings


def test_settings_are_frozen() -> None:
    irods = IrodsSettings(host="h", port=1, zone="z", user="u")
    with pytest.raises(AttributeError):
        irods.host = "other"  # type: ignore[misc]


# --- Redis ---------------------------------------------------------------------------------------


def redis_of(environ: dict[str, str], **cli: Any) -> RedisSettings:
    return load_settings({"HOME": "/nonexistent", **environ}, require_irods=False, **cli).redis


def test_no_redis_configured_means_embedded_under_xdg_state_home() -> None:
    redis = redis_of({"XDG_STATE_HOME": "/state"})
    assert redis.url is None
    assert redis.embedded_dir == Path("/state/lz-ingest/redis")


def test_embedded_dir_defaults_to_local_state() -> None:
    assert redis_of({"HOME": "/home/u"}).embedded_dir == Path("/home/u/.local/state/lz-ingest/redis")


@pytest.mark.parametrize("url", ["redis://h:1/2", "rediss://:pw@h:1/0", "unix:///run/redis.sock?db=3"])
def test_redis_url_option_is_taken_as_given(url: str) -> None:
    assert redis_of({}, redis_url=url).url == url


def test_old_redis_options_build_a_url() -> None:
    assert redis_of({}, redis_host="r.example", redis_port=6380, redis_db=2).url == "redis://r.example:6380/2"
    assert redis_of({}, redis_db=4).url == "redis://localhost:6379/4"


def test_cli_redis_wins_over_environment_variable() -> None:
    environ = {"LZ_INGEST_REDIS_URL": "redis://from-env:1/0"}
    assert redis_of(environ).url == "redis://from-env:1/0"
    assert redis_of(environ, redis_url="redis://cli:1/0").url == "redis://cli:1/0"
    assert redis_of(environ, redis_host="old").url == "redis://old:6379/0"


def test_redis_url_and_old_options_together_are_refused() -> None:
    with pytest.raises(ConfigError, match="either --redis-url"):
        redis_of({}, redis_url="redis://h:1/0", redis_port=6379)


@pytest.mark.parametrize("url", ["http://h:1/0", "localhost:6379", "unix://", "redis:///0"])
def test_bad_redis_urls_are_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="Redis URL"):
        redis_of({}, redis_url=url)


# --- logging -------------------------------------------------------------------------------------


def log_of(**cli: Any) -> LogSettings:
    return load_settings({"HOME": "/nonexistent"}, require_irods=False, **cli).log


def test_log_options_are_normalised() -> None:
    log = log_of(log_filename="/tmp/x.log", log_level="debug", log_when="midnight", log_interval="2")
    assert log == LogSettings(log_filename=Path("/tmp/x.log"), log_level="DEBUG", log_when="MIDNIGHT", log_interval=2)


def test_unrelated_and_unset_options_are_ignored() -> None:
    assert log_of(source="/data", target="/tempZone/home/rods", log_level=None) == LogSettings()


@pytest.mark.parametrize(
    ("option", "value"),
    [("log_level", "LOUD"), ("log_when", "fortnight"), ("log_interval", 0), ("profile_when", "X")],
)
def test_bad_log_options_are_refused(option: str, value: Any) -> None:
    with pytest.raises(ConfigError, match=f"--{option}"):
        log_of(**{option: value})


def test_profile_needs_a_filename() -> None:
    with pytest.raises(ConfigError, match="--profile_filename"):
        log_of(profile=True)
    assert log_of(profile=True, profile_filename="p.json").profile_filename == Path("p.json")
