"""Who may see what: the operator's mode, the signed-in user's role and its capabilities.

The mode is set by the operator, never by a URL (``REGISTRY_MODE`` in the environment, else
``mode`` in the operator's config file ``registry.toml``, path ``REGISTRY_CONFIG``):

``local``     one user on this computer (the default of ``make run``, bound to 127.0.0.1); the
              user is the registrar: every page, upload, record-level list, switch.
``internal``  everyone signs in through the registry's OpenID Connect provider (``st.login``,
              ``[auth]`` in ``.streamlit/secrets.toml``); ``roles.toml`` gives each e-mail,
              e-mail domain or group claim a role: ``viewer`` (suppressed aggregates),
              ``analyst`` (unsuppressed aggregates and downloads), ``registrar`` (uploads,
              record-level quality lists, kept uploads).
``public``    no sign-in; aggregates only, disclosure control forced on everywhere; no Data page,
              no upload, no record-level view.

The small API the pages use::

    auth.mode()                 # "local" | "internal" | "public"
    auth.role()                 # "registrar" | "analyst" | "viewer" | "public" | None
    auth.can("download")        # bool, for the current session
    auth.require("upload")      # stops the page with a message and audits the denial
    auth.public_forced()        # disclosure control cannot be switched off

Every check runs on the server on every rerun: a role changed in ``roles.toml`` applies at the
user's next interaction, without a restart.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import logging
import os
import re
import threading
import time
import tomllib
from pathlib import Path
from typing import Any, Iterable

import streamlit as st

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]

MODE_ENV = "REGISTRY_MODE"
CONFIG_ENV = "REGISTRY_CONFIG"
ROLES_ENV = "REGISTRY_ROLES"
AUDIT_ENV = "REGISTRY_AUDIT_LOG"
DEFAULT_CONFIG = ROOT / "registry.toml"
DEFAULT_ROLES = ROOT / "roles.toml"
DEFAULT_AUDIT_LOG = ROOT / "logs" / "audit.jsonl"

LOCAL, INTERNAL, PUBLIC = "local", "internal", "public"
MODES = (LOCAL, INTERNAL, PUBLIC)

VIEWER, ANALYST, REGISTRAR = "viewer", "analyst", "registrar"
ROLES = (VIEWER, ANALYST, REGISTRAR)          # ascending: the highest matching role wins
PUBLIC_ROLE = "public"                        # the anonymous visitor of a public server

VIEW_AGGREGATES = "view_aggregates"
VIEW_UNSUPPRESSED = "view_unsuppressed"
DOWNLOAD = "download"
UPLOAD = "upload"
VIEW_RECORDS = "view_records"
KEEP_UPLOADS = "keep_uploads"
SWITCH_PUBLIC_MODE = "switch_public_mode"
CAPABILITIES = (VIEW_AGGREGATES, VIEW_UNSUPPRESSED, DOWNLOAD, UPLOAD, VIEW_RECORDS, KEEP_UPLOADS,
                SWITCH_PUBLIC_MODE)

ROLE_CAPABILITIES: dict[str, frozenset[str]] = {
    VIEWER: frozenset({VIEW_AGGREGATES}),
    ANALYST: frozenset({VIEW_AGGREGATES, VIEW_UNSUPPRESSED, DOWNLOAD, SWITCH_PUBLIC_MODE}),
    REGISTRAR: frozenset(CAPABILITIES),
    # downloads of the disclosure-controlled output; ``public_downloads = false`` removes them
    PUBLIC_ROLE: frozenset({VIEW_AGGREGATES, DOWNLOAD}),
}

# Pages that need more than view_aggregates (app.py leaves them out of the navigation, and the
# page itself calls require() again).
PAGE_CAPABILITIES = {"data": UPLOAD, "report": DOWNLOAD}   # a report is a download

# Keys of roles.toml
ROLE_RULE_KEYS = ("emails", "domains", "groups")
DEFAULT_GROUP_CLAIMS = ("groups",)


class ConfigError(RuntimeError):
    """The operator's configuration (mode, config file, roles file) is invalid."""


@dataclasses.dataclass(frozen=True)
class Settings:
    mode: str
    roles_file: Path
    audit_log: Path
    public_downloads: bool
    config_file: Path | None          # the registry.toml read, if any


@dataclasses.dataclass(frozen=True)
class RoleRules:
    """roles.toml: e-mails, e-mail domains and group names per role."""
    emails: dict[str, frozenset[str]]
    domains: dict[str, frozenset[str]]
    groups: dict[str, frozenset[str]]
    default: str | None = None
    group_claims: tuple[str, ...] = DEFAULT_GROUP_CLAIMS

    def role_of(self, identity: "Identity") -> str | None:
        """The highest role any rule gives ``identity``, else the default role (or None)."""
        email = identity.email.lower() if identity.email and identity.email_verified is not False else ""
        domain = email.rpartition("@")[2] if "@" in email else ""
        groups = set(identity.groups)
        for role in reversed(ROLES):
            if (email and email in self.emails.get(role, ())) or (domain and domain in self.domains.get(role, ())) \
                    or groups & self.groups.get(role, frozenset()):
                return role
        return self.default


@dataclasses.dataclass(frozen=True)
class Identity:
    """The signed-in user as the OpenID Connect provider describes them (ID-token claims)."""
    subject: str
    email: str
    name: str
    groups: tuple[str, ...]
    email_verified: bool | None = None


# --- the operator's configuration ---------------------------------------------------------
_FILE_CACHE: dict[tuple[str, str], tuple[tuple[int, int], Any]] = {}


def _read_toml(path: Path, kind: str) -> dict:
    """A TOML file, parsed once per modification (edits apply without a restart)."""
    try:
        st_ = path.stat()
    except FileNotFoundError:
        return {}
    stamp = (st_.st_mtime_ns, st_.st_size)
    key = (kind, str(path))
    hit = _FILE_CACHE.get(key)
    if hit is not None and hit[0] == stamp:
        return hit[1]
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{kind} file {path} cannot be read: {exc}") from exc
    _FILE_CACHE[key] = (stamp, data)
    return data


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


_SETTINGS_ENV = (CONFIG_ENV, MODE_ENV, ROLES_ENV, AUDIT_ENV, "HOME")   # HOME: paths with "~"
_SETTINGS_CACHE: dict[tuple, Settings] = {}


_RUN = threading.local()       # per script thread: the settings its current run has read
RUN_MEMO_SECONDS = 2.0         # a fragment's run on the same thread reuses them this long at most


def begin_run() -> None:
    """app.py, at the start of every script run: this run reads the settings once (:func:`settings`)."""
    _RUN.memo = None


def settings() -> Settings:
    """The mode and file locations: environment first, then ``registry.toml``, then defaults.

    Read on every capability check (more than a hundred per rerun), so made again only when what
    it depends on changes: its environment variables, the working directory or the config file's
    modification time and size (edits still apply without a restart). Within one script run
    (:func:`begin_run`) the file and the working directory are looked at once: each look is a
    system call, which lets go of the GIL, and with many sessions at once every such call waits
    for the GIL again behind the other sessions' runs (round 17: 134 calls per rerun; 268 ``stat``
    calls take 1.6 ms alone, 0.3-4.8 s beside one to eight busy threads). Outside a run (tests,
    downloads, the warm-up) every call looks."""
    env = tuple(os.environ.get(n) for n in _SETTINGS_ENV)
    memo = getattr(_RUN, "memo", False)
    if memo and memo[0] == env and time.monotonic() - memo[1] < RUN_MEMO_SECONDS:
        return memo[2]
    hit = _settings_now(env)
    if memo is not False:             # in a run: remembered for the rest of it
        _RUN.memo = (env, time.monotonic(), hit)
    return hit


def _settings_now(env: tuple) -> Settings:
    config_file = _env_path(CONFIG_ENV) or DEFAULT_CONFIG
    try:
        st_ = config_file.stat()
        stamp = (st_.st_mtime_ns, st_.st_size)
    except OSError:
        stamp = None
    key = (env, os.getcwd(), stamp)
    hit = _SETTINGS_CACHE.get(key)
    if hit is None:
        hit = _settings(config_file)
        _SETTINGS_CACHE.clear()        # one entry: the configuration in force
        _SETTINGS_CACHE[key] = hit
    return hit


def _settings(config_file: Path) -> Settings:
    if _env_path(CONFIG_ENV) is not None and not config_file.is_file():
        raise ConfigError(f"{CONFIG_ENV}={config_file} is not a file")
    cfg = _read_toml(config_file, "registry config")
    unknown = set(cfg) - {"mode", "roles_file", "audit_log", "public_downloads"}
    if unknown:
        raise ConfigError(f"{config_file}: unknown settings {sorted(unknown)}")
    mode_value = os.environ.get(MODE_ENV, "").strip().lower() or str(cfg.get("mode", LOCAL)).strip().lower()
    if mode_value not in MODES:
        raise ConfigError(f"registry mode {mode_value!r} is not one of {', '.join(MODES)} "
                          f"(set {MODE_ENV} or mode in {config_file})")
    base = config_file.parent

    def _path(env: str, key: str, default: Path) -> Path:
        p = _env_path(env)
        if p is not None:
            return p
        if key in cfg:
            return (base / Path(str(cfg[key])).expanduser()).resolve()
        return default

    public_downloads = cfg.get("public_downloads", True)
    if not isinstance(public_downloads, bool):
        raise ConfigError(f"{config_file}: public_downloads must be true or false")
    return Settings(mode=mode_value, roles_file=_path(ROLES_ENV, "roles_file", DEFAULT_ROLES),
                    audit_log=_path(AUDIT_ENV, "audit_log", DEFAULT_AUDIT_LOG),
                    public_downloads=public_downloads, config_file=config_file if cfg else None)


def _str_set(values: Any, where: str, *, lower: bool) -> frozenset[str]:
    if values is None:
        return frozenset()
    if isinstance(values, str) or not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f"{where} must be a list of strings")
    return frozenset(v.strip().lower() if lower else v.strip() for v in values if v.strip())


def parse_roles(data: dict, where: str = "roles.toml") -> RoleRules:
    """Validate roles.toml's content (a typo must not silently lock people out or let them in)."""
    allowed_top = set(ROLES) | {"default", "group_claim"}
    unknown = set(data) - allowed_top
    if unknown:
        raise ConfigError(f"{where}: unknown entries {sorted(unknown)}; roles are {', '.join(ROLES)}")
    default = data.get("default", "") or None
    if default is not None and default not in ROLES:
        raise ConfigError(f"{where}: default = {default!r} is not one of {', '.join(ROLES)} or \"\"")
    claims = data.get("group_claim", list(DEFAULT_GROUP_CLAIMS))
    claims = [claims] if isinstance(claims, str) else claims
    _str_set(claims, f"{where}: group_claim", lower=False)          # validates
    claims = tuple(dict.fromkeys(c.strip() for c in claims if c.strip()))
    emails, domains, groups = {}, {}, {}
    for role in ROLES:
        table = data.get(role, {})
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{role}] must be a table")
        bad = set(table) - set(ROLE_RULE_KEYS)
        if bad:
            raise ConfigError(f"{where}: [{role}] has unknown keys {sorted(bad)}; use {', '.join(ROLE_RULE_KEYS)}")
        emails[role] = _str_set(table.get("emails"), f"{where}: [{role}] emails", lower=True)
        domains[role] = frozenset(d.lstrip("@") for d in _str_set(table.get("domains"), f"{where}: [{role}] domains",
                                                                  lower=True))
        groups[role] = _str_set(table.get("groups"), f"{where}: [{role}] groups", lower=False)
    return RoleRules(emails=emails, domains=domains, groups=groups, default=default, group_claims=claims)


def role_rules(s: Settings | None = None) -> RoleRules:
    s = s or settings()
    return parse_roles(_read_toml(s.roles_file, "roles"), str(s.roles_file))


def mode() -> str:
    return settings().mode


# --- the current user ---------------------------------------------------------------------
def _claims() -> dict:
    try:
        return dict(st.user.to_dict())
    except Exception:  # noqa: BLE001 - outside a session st.user has nothing to give
        return {}


def _groups(claims: dict, names: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for name in names:
        value = claims.get(name)
        if isinstance(value, str):
            out.append(value)
        elif isinstance(value, (list, tuple)):
            out.extend(str(v) for v in value)
    return tuple(out)


def identity() -> Identity | None:
    """The signed-in user (internal mode), else None."""
    if mode() != INTERNAL:
        return None
    claims = _claims()
    if not claims.get("is_logged_in"):
        return None
    verified = claims.get("email_verified")
    if isinstance(verified, str):
        verified = verified.lower() == "true"
    return Identity(subject=str(claims.get("sub", "")), email=str(claims.get("email", "") or ""),
                    name=str(claims.get("name", "") or claims.get("preferred_username", "") or ""),
                    groups=_groups(claims, role_rules().group_claims),
                    email_verified=verified if isinstance(verified, bool) else None)


def role() -> str | None:
    """``registrar`` in local mode, ``public`` in public mode, the user's role when signed in."""
    m = mode()
    if m == LOCAL:
        return REGISTRAR
    if m == PUBLIC:
        return PUBLIC_ROLE
    who = identity()
    return role_rules().role_of(who) if who is not None else None


def capabilities() -> frozenset[str]:
    r = role()
    caps = ROLE_CAPABILITIES.get(r, frozenset()) if r else frozenset()
    if r == PUBLIC_ROLE and not settings().public_downloads:
        caps = caps - {DOWNLOAD}
    return caps


def can(capability: str) -> bool:
    if capability not in CAPABILITIES:
        raise ValueError(f"unknown capability {capability!r}; one of {', '.join(CAPABILITIES)}")
    return capability in capabilities()


def still_can(capability: str, who: Identity | None, mode_then: str) -> bool:
    """Re-check a capability outside the session (a deferred download is produced later, in
    another thread): same mode as when the button was drawn, and in internal mode the role that
    roles.toml gives the same identity now."""
    s = settings()
    if s.mode != mode_then:
        return False
    if s.mode == INTERNAL:
        r = role_rules(s).role_of(who) if who is not None else None
        return capability in ROLE_CAPABILITIES.get(r, frozenset()) if r else False
    return capability in capabilities()


def public_forced() -> bool:
    """Disclosure control is on and cannot be switched off (public mode, the viewer role)."""
    return not (can(VIEW_UNSUPPRESSED) and can(SWITCH_PUBLIC_MODE))


def page_allowed(stem: str) -> bool:
    return can(VIEW_AGGREGATES) and can(PAGE_CAPABILITIES.get(stem, VIEW_AGGREGATES))


def _lang() -> str:
    from app_support.text import LANGS

    try:
        lang = st.session_state.get("_filters", {}).get("lang") or st.query_params.get("lang")
    except Exception:  # noqa: BLE001
        lang = None
    return lang if lang in LANGS else "en"


def context() -> dict[str, Any]:
    """Who is acting, for the audit log: mode, user (e-mail or subject), role, session, address."""
    out: dict[str, Any] = {}
    try:
        out["mode"] = mode()
        out["role"] = role()
        who = identity()
        out["user"] = (who.email or who.subject) if who is not None else None
    except ConfigError:
        out["mode"] = "invalid"
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        out["session"] = ctx.session_id if ctx is not None else None
        ip = st.context.ip_address
        out["ip"] = ip if isinstance(ip, str) else None
    except Exception:  # noqa: BLE001 - no session (a test, a deferred download)
        out.setdefault("session", None)
    return out


def require(capability: str, what: str = "") -> None:
    """Stop the page unless the session has ``capability``; the denial goes to the audit log."""
    if can(capability):
        return
    from app_support import audit
    from app_support.text import t

    audit.log_event("denial", capability=capability, what=what or _current_page())
    st.error(t("auth.denied", _lang()))
    st.stop()


def _current_page() -> str:
    """The address of the page being run (for the audit log), when Streamlit knows it."""
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 - no request (a test)
        return ""
    if not isinstance(url, str):
        return ""
    from urllib.parse import urlsplit

    return urlsplit(url).path.rsplit("/", 1)[-1] or "overview"


# --- the gate in front of every page (app.py) --------------------------------------------
LOOPBACK_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")


def _is_loopback(ip: Any) -> bool:
    if not isinstance(ip, str):
        return True      # no network peer: AppTest (no address, or its mock)
    try:
        return ipaddress.ip_address(ip.split("%")[0]).is_loopback
    except ValueError:
        return False


def local_request_ok() -> bool:
    """Local mode serves this computer only: a peer elsewhere, or a request relayed by a proxy,
    means the operator exposed a local server; refuse rather than give everyone the registrar."""
    try:
        headers = {k.lower() for k in st.context.headers.keys()}
        ip = st.context.ip_address
    except Exception:  # noqa: BLE001 - AppTest has no request
        return True
    return _is_loopback(ip) and not (headers & set(LOOPBACK_HEADERS))


def login_configured() -> bool:
    try:
        section = st.secrets.get("auth")
    except Exception:  # noqa: BLE001 - no secrets file at all
        return False
    return bool(section) and bool(section.get("redirect_uri")) and bool(section.get("cookie_secret"))


def _stop_with(message: str) -> None:
    st.error(message)
    st.stop()


def gate() -> None:
    """Before any page: the mode's conditions, and in internal mode a signed-in user with a role.

    Stops the run (showing only a message or the sign-in screen) when they are not met."""
    from app_support import audit
    from app_support.text import t

    lang = _lang()
    try:
        s = settings()
        if s.mode == INTERNAL:
            role_rules(s)      # a broken roles file stops everyone, loudly
            if not s.roles_file.is_file():
                log.error("internal mode without a roles file (%s): nobody has a role", s.roles_file)
    except ConfigError as exc:
        log.error("configuration error: %s", exc)
        st.set_option("client.showErrorDetails", "none")
        _stop_with(t("auth.config_error", lang))
        return
    if s.mode != LOCAL:
        st.set_option("client.showErrorDetails", "none")
        from app_support import hardening

        if not hardening.guard_active():
            log.error("REGISTRY_MODE=%s needs the hardened launcher: python serve.py", s.mode)
            _stop_with(t("auth.launcher", lang))
    if s.mode == LOCAL and not local_request_ok():
        relayed = sorted(k for k in st.context.headers.keys() if k.lower() in LOOPBACK_HEADERS)
        log.error("local mode reached from %s (proxy headers: %s): refused", st.context.ip_address, relayed)
        _stop_with(t("auth.local_only", lang))
    if s.mode != INTERNAL:
        return
    if not login_configured():
        log.error("internal mode without an [auth] section (redirect_uri, cookie_secret) in secrets.toml")
        _stop_with(t("auth.login_not_configured", lang))
    who = identity()
    if who is None:
        _login_screen(lang)
        return
    r = role_rules(s).role_of(who)
    ss = st.session_state
    if ss.get("_audit_login") != (who.subject, r):
        ss["_audit_login"] = (who.subject, r)
        if r is None:
            audit.log_event("denial", capability=VIEW_AGGREGATES, what="no role in roles.toml")
        else:
            audit.log_event("login", provider=str(_claims().get("provider", "")), outcome="ok")
    if r is None:
        _no_role_screen(who, lang)


def _signin_page(lang: str):
    from app_support.text import t

    def view() -> None:
        st.title(t("app.name", lang))
        st.write(t("auth.signin_text", lang))
        if st.button(t("auth.signin", lang), type="primary", key="auth_login"):
            st.login()
    return view


def _login_screen(lang: str) -> None:
    """Only the sign-in screen: one page under every address (crafted paths land here too)."""
    from app_support.text import t

    st.navigation([st.Page(_signin_page(lang), title=t("auth.signin", lang), url_path="signin", default=True)],
                  position="hidden").run()
    st.stop()


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$])")


def markdown_escape(text: str) -> str:
    """``text`` shown literally inside Markdown (no link, image, emphasis or HTML from it)."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", text)


def _no_role_screen(who: Identity, lang: str) -> None:
    from app_support.text import t

    def view() -> None:
        st.title(t("app.name", lang))
        st.warning(t("auth.no_role", lang, user=markdown_escape(who.email or who.subject)))
        if st.button(t("auth.signout", lang), key="auth_logout_norole"):
            st.logout()
    st.navigation([st.Page(view, title=t("auth.signin", lang), url_path="signin", default=True)],
                  position="hidden").run()
    st.stop()


def sidebar_status(lang: str) -> None:
    """The mode, and who is signed in with which role, at the top of the sidebar."""
    from app_support.text import t

    m = mode()
    sb = st.sidebar
    sb.caption(t(f"auth.mode.{m}", lang))
    who = identity() if m == INTERNAL else None
    if who is not None:
        # plain text: a name from the identity provider is never rendered as Markdown or HTML
        sb.text(t("auth.signed_in", lang, user=who.email or who.name or who.subject,
                  role=t(f"auth.role.{role()}", lang)))
        if sb.button(t("auth.signout", lang), key="auth_logout"):
            from app_support import audit

            audit.log_event("logout")
            st.logout()
