"""API scopes: what a credential may do. Session tokens carry every scope their user's role
allows; an API key carries the subset chosen when it was made, and never more than the
owner's role allows at the time of use (a demoted admin's keys lose ``admin`` at once)."""

from __future__ import annotations

from enum import StrEnum

from appbuilder.enums import UserRole


class Scope(StrEnum):
    PROJECTS_READ = "projects:read"
    PROJECTS_WRITE = "projects:write"
    GENERATIONS_READ = "generations:read"
    GENERATIONS_WRITE = "generations:write"
    KEYS_MANAGE = "keys:manage"
    ADMIN = "admin"


USER_SCOPES = frozenset(Scope) - {Scope.ADMIN}
ROLE_SCOPES: dict[UserRole, frozenset[Scope]] = {
    UserRole.USER: USER_SCOPES,
    UserRole.ADMIN: frozenset(Scope),
    UserRole.SUPER_ADMIN: frozenset(Scope),
}
