"""Each city's OpenID Connect provider, as configured (docs/security.md T2.18; docs/operations.md,
*Signing in through the city's account*).

`OIDC_CITIES` maps a city's slug to its provider. It comes from the environment, never from the
database: `LEGITKA_OIDC_CITIES` holds the JSON without the secret, and each client secret comes
from the deployment's secret store as `LEGITKA_OIDC_CITIES__<slug>__client_secret` (Flask's
prefixed environment sets the nested key after loading the JSON). Per city:

- `issuer` (required): the provider's issuer URL exactly as its discovery document names it;
  https, or http only on loopback (a developer's or the tests' own provider);
- `client_id`, `client_secret` (required): Legitka's registration at the provider;
- `roles` (required, at least one): `{"value": <group>, "role": <role>, "school": <slug>}` — a
  person whose `claim` holds `value` may act as `role`: `city_official` of this city (no
  `school`), or `school_director` / `school_secretary` of the named school of this city, only when
  `school_staff` is true. Printers never sign in through a city;
- `claim` (default `groups`): the ID token claim holding the person's groups (a list or a string);
- `school_staff` (default false): whether school staff may use the city's sign-in at all;
- `match_verified_email` (default true): a person not linked yet is matched to the Legitka user
  with the same e-mail, only if the provider says the e-mail is verified (`email_verified: true`);
- `scopes` (default `openid email profile`), `name` (the city's name on the button, when several
  cities share one deployment; default: the city's name in Legitka).

`parse` refuses anything else with a `ValueError`, so a typo stops the app at start instead of
leaving a city's staff with a sign-in that silently grants nothing (or too much).
"""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from authlib.common.security import is_secure_transport

from tenants.tenancy.models import Role

_KEYS = {"issuer", "client_id", "client_secret", "roles", "claim", "school_staff", "match_verified_email",
         "scopes", "name"}
_SCHOOL_ROLES = {Role.SCHOOL_DIRECTOR, Role.SCHOOL_SECRETARY}


@dataclasses.dataclass(frozen=True)
class Grant:
    """One configured mapping: whoever's claim holds `value` may act as `role` in the city
    (`school` None) or in the school with that slug."""

    value: str
    role: Role
    school: str | None = None


@dataclasses.dataclass(frozen=True)
class CityProvider:
    city: str  # the city's slug
    issuer: str
    client_id: str
    client_secret: str = dataclasses.field(repr=False)
    grants: tuple[Grant, ...]
    claim: str = "groups"
    school_staff: bool = False
    match_verified_email: bool = True
    scopes: str = "openid email profile"
    name: str = ""

    def grants_for(self, values: set[str]) -> list[Grant]:
        return [grant for grant in self.grants if grant.value in values]


def parse(raw) -> dict[str, CityProvider]:
    """`OIDC_CITIES` checked and read; `{}` when no city has one."""
    if raw is None or raw == {}:
        return {}
    if not isinstance(raw, dict):
        raise ValueError("OIDC_CITIES must be a JSON object: {city slug: provider}")
    return {slug: _provider(slug, entry) for slug, entry in raw.items()}


def _provider(slug: str, entry) -> CityProvider:
    where = f"OIDC_CITIES[{slug!r}]"
    if not isinstance(entry, dict):
        raise ValueError(f"{where} must be a JSON object")
    unknown = sorted(set(entry) - _KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown setting(s) {', '.join(unknown)}")
    for name in ("issuer", "client_id"):
        if not isinstance(entry.get(name), str) or not entry[name]:
            raise ValueError(f"{where}: {name} is required")
    if not isinstance(entry.get("client_secret"), str) or not entry["client_secret"]:
        raise ValueError(f"{where}: set the client secret (LEGITKA_OIDC_CITIES__{slug}__client_secret)")
    issuer = entry["issuer"]
    parts = urlsplit(issuer)
    if not is_secure_transport(issuer) or parts.query or parts.fragment or not parts.hostname:
        raise ValueError(f"{where}: issuer must be an https URL (http only on loopback), without query")
    school_staff = _flag(entry, "school_staff", False, where)
    scopes = entry.get("scopes", "openid email profile")
    if not isinstance(scopes, str) or "openid" not in scopes.split():
        raise ValueError(f"{where}: scopes must be a space-separated string including openid")
    claim = entry.get("claim", "groups")
    if not isinstance(claim, str) or not claim:
        raise ValueError(f"{where}: claim must be the name of a claim")
    name = entry.get("name", "")
    if not isinstance(name, str):
        raise ValueError(f"{where}: name must be text")
    grants = entry.get("roles")
    if not isinstance(grants, list) or not grants:
        raise ValueError(f"{where}: roles must list at least one {{value, role}} mapping")
    return CityProvider(city=slug, issuer=issuer, client_id=entry["client_id"], client_secret=entry["client_secret"],
                        grants=tuple(_grant(item, school_staff, f"{where}.roles") for item in grants),
                        claim=claim, school_staff=school_staff, scopes=scopes, name=name,
                        match_verified_email=_flag(entry, "match_verified_email", True, where))


def _grant(item, school_staff: bool, where: str) -> Grant:
    if not isinstance(item, dict) or set(item) - {"value", "role", "school"}:
        raise ValueError(f"{where}: each mapping is {{value, role, school?}}")
    value, school = item.get("value"), item.get("school")
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: value is required")
    try:
        role = Role(item.get("role"))
    except ValueError:
        raise ValueError(f"{where}: role {item.get('role')!r} is not a Legitka role")
    if role is Role.CITY_OFFICIAL:
        if school is not None:
            raise ValueError(f"{where}: city_official is the city's role, without a school")
        return Grant(value, role)
    if role not in _SCHOOL_ROLES:
        raise ValueError(f"{where}: {role.value} cannot sign in through a city's provider")
    if not school_staff:
        raise ValueError(f"{where}: {role.value} needs school_staff: true")
    if not isinstance(school, str) or not school:
        raise ValueError(f"{where}: {role.value} needs the school's slug")
    return Grant(value, role, school)


def _flag(entry: dict, name: str, default: bool, where: str) -> bool:
    value = entry.get(name, default)
    if not isinstance(value, bool):
        raise ValueError(f"{where}: {name} must be true or false")
    return value
