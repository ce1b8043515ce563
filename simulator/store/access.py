"""Who may do what: the three roles, the actions each allows, and how a person's role is found.

Roles come from two places. A YAML file (``PIPELINE_TWIN_ROLES``, default ``roles.yaml`` at the
project root) maps e-mail addresses and domains to roles and names the role of everyone else;
admins can also assign roles in the app, which are stored in the database and win over the file.
An assignment for an exact e-mail address wins over one for its domain.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from simulator.common.safe_yaml import YamlError, load_yaml

ROLES_ENV = "PIPELINE_TWIN_ROLES"
USER_ENV = "PIPELINE_TWIN_USER"
LOCAL_USER = "local"


class Role(IntEnum):
    viewer = 1
    analyst = 2
    admin = 3


# action -> the least role that may do it, and how a refusal names it
ACTIONS: dict[str, tuple[Role, str]] = {
    "sign_in": (Role.viewer, "sign in"),
    "run": (Role.viewer, "run a simulation"),
    "download_requests": (Role.viewer, "download per-request data"),
    "download_brief": (Role.viewer, "download a decision brief"),
    "save_scenario": (Role.analyst, "save scenarios"),
    "restore_scenario": (Role.analyst, "restore a scenario version"),
    "save_run": (Role.analyst, "keep runs in the history"),
    "plan": (Role.analyst, "run capacity plans"),
    "write_decision": (Role.analyst, "write decisions"),
    "facilitate": (Role.analyst, "run workshops"),
    "delete_scenario": (Role.admin, "delete scenarios"),
    "delete_run": (Role.admin, "delete runs"),
    "delete_decision": (Role.admin, "delete decisions"),
    "manage_roles": (Role.admin, "change roles"),
    "read_audit": (Role.admin, "read the audit log"),
    "prune": (Role.admin, "remove old per-request data"),
}


@dataclass(frozen=True)
class Actor:
    """The person acting: their e-mail (or 'local'), display name and role at the time."""

    email: str
    name: str
    role: Role
    local: bool = False

    def can(self, action: str) -> bool:
        return self.role >= ACTIONS[action][0]

    @property
    def label(self) -> str:
        return self.name if self.local or not self.name or self.name == self.email else f"{self.name} <{self.email}>"


class PermissionDenied(Exception):
    """The actor's role does not allow the action; the refusal has been written to the audit log."""


def refusal_text(actor: Actor, action: str) -> str:
    needed, words = ACTIONS[action]
    return (f"Only {needed.name}s{' and admins' if needed == Role.analyst else ''} can {words}; "
            f"{actor.email} is a {actor.role.name}. An admin can change roles on the Audit page. "
            f"This attempt was recorded in the audit log.")


def local_actor() -> Actor:
    """The single user of a local installation without sign-in: every right."""
    return Actor(LOCAL_USER, "Local user", Role.admin, local=True)


def system_actor() -> Actor:
    """Housekeeping the app does by itself (the retention setting at start-up), named as such in the log."""
    return Actor("system", "Pipeline Twin", Role.admin)


# --------------------------------------------------------------------------- role rules
@dataclass(frozen=True)
class RoleRules:
    """Role by exact e-mail, by domain, and for everyone else."""

    people: dict[str, Role]
    domains: dict[str, Role]
    default: Role = Role.viewer

    def role_for(self, email: str) -> Role | None:
        email = email.strip().lower()
        if email in self.people:
            return self.people[email]
        return self.domains.get(email.rpartition("@")[2]) if "@" in email else None


def roles_file() -> Path:
    return Path(os.environ.get(ROLES_ENV) or Path(__file__).resolve().parents[2] / "roles.yaml")


def parse_role(value, where: str) -> Role:
    try:
        return Role[str(value).strip().lower()]
    except KeyError:
        raise ValueError(f"{where}: role must be one of viewer, analyst, admin; got {value!r}") from None


def normalise_subject(subject: str) -> str:
    """'Ada@Example.com' -> 'ada@example.com'; 'example.com' or '@example.com' -> '@example.com'."""
    subject = subject.strip().lower()
    if not subject or " " in subject or subject.count("@") > 1 or subject.endswith("@"):
        raise ValueError(f"'{subject}': expected an e-mail address (ada@example.com) or a domain (@example.com)")
    if "@" not in subject:
        subject = "@" + subject
    if "." not in subject.rpartition("@")[2]:
        raise ValueError(f"'{subject}': the domain needs a dot, e.g. @example.com")
    return subject


def load_rules(path: Path | None = None) -> RoleRules:
    """The roles file; a missing file gives everyone the viewer role (admins assign the rest)."""
    path = path or roles_file()
    if not path.exists():
        return RoleRules({}, {})
    try:
        data = load_yaml(path.read_bytes()) or {}
    except YamlError as err:
        raise ValueError(f"{path}: {err}") from None
    if not isinstance(data, dict) or set(data) - {"default", "people", "domains"}:
        raise ValueError(f"{path}: expected the keys default, people and domains")
    people = {normalise_subject(k): parse_role(v, f"{path}: people.{k}") for k, v in (data.get("people") or {}).items()}
    domains = {normalise_subject(k)[1:]: parse_role(v, f"{path}: domains.{k}")
               for k, v in (data.get("domains") or {}).items()}
    if any(k.startswith("@") for k in people):
        raise ValueError(f"{path}: people: use e-mail addresses here; put domains under 'domains'")
    default = parse_role(data.get("default", "viewer"), f"{path}: default")
    return RoleRules(people, domains, default)


def resolve_role(email: str, file_rules: RoleRules, assigned: dict[str, Role]) -> Role:
    """In-app assignments first (e-mail, then domain), then the file (e-mail, then domain), then its default."""
    email = email.strip().lower()
    if email in assigned:
        return assigned[email]
    domain = "@" + email.rpartition("@")[2] if "@" in email else None
    if domain and domain in assigned:
        return assigned[domain]
    found = file_rules.role_for(email)
    return found if found is not None else file_rules.default
