"""Sign-up, log-in, log-out, the current user, and password changes."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from appbuilder.db.models import User
from appbuilder.db.reads import Steps
from appbuilder.services import auth
from appbuilder.services.auth import IssuedSession, Principal
from appbuilder.web.deps import (
    Bearer,
    PrincipalDep,
    SessionDep,
    SessionmakerDep,
    SettingsDep,
    client_ip,
)
from appbuilder.web.errors import AUTH_RESPONSES, CONFLICT, RATE_LIMITED, describe, merge
from appbuilder.web.one_hop import answer_reads, to_json
from appbuilder.web.schemas import (
    LoginIn,
    PasswordChangeIn,
    RegisterIn,
    SessionOut,
    UserOut,
)

router = APIRouter(prefix="/api", tags=["accounts"])


def _session_out(issued: IssuedSession, user: User) -> SessionOut:
    return SessionOut(
        token=issued.token,
        expires_at=issued.session.expires_at,
        user=UserOut.model_validate(user),
    )


@router.post(
    "/auth/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses=CONFLICT,
)
def register(body: RegisterIn, session: SessionDep) -> UserOut:
    """Create an account (the email is normalised to lower case; it must be new)."""
    user = auth.register(session, email=body.email, password=body.password, name=body.name)
    return UserOut.model_validate(user)


@router.post(
    "/auth/login",
    response_model=SessionOut,
    responses=merge({401: describe("Email or password is wrong")}, RATE_LIMITED),
)
def login(
    body: LoginIn, request: Request, sessions: SessionmakerDep, settings: SettingsDep
) -> SessionOut:
    """Exchange email and password for a session token (paused after repeated failures)."""
    user, issued = auth.log_in(
        sessions,
        email=body.email,
        password=body.password,
        client_ip=client_ip(request),
        user_agent=request.headers.get("user-agent"),
        settings=settings.auth,
    )
    return _session_out(issued, user)


@router.post("/auth/logout", status_code=status.HTTP_204_NO_CONTENT, responses=AUTH_RESPONSES)
def logout(principal: PrincipalDep, session: SessionDep) -> None:
    """End the session whose token this request carries."""
    auth.log_out(session, principal)


def _me(principal: Principal) -> Steps[bytes]:
    yield from ()  # nothing to read beyond the credential's own look-up
    return to_json(UserOut.model_validate(principal.user))


@router.get("/me", response_model=UserOut, responses=AUTH_RESPONSES)
async def me(request: Request, credential: Bearer) -> Response:
    """The account behind the credential."""
    return await answer_reads(request, credential, _me, scope=None)


@router.post(
    "/me/password", response_model=SessionOut, responses=merge(AUTH_RESPONSES, RATE_LIMITED)
)
def change_password(
    body: PasswordChangeIn,
    request: Request,
    principal: PrincipalDep,
    session: SessionDep,
    settings: SettingsDep,
) -> SessionOut:
    """Change the password; every session is logged out and a fresh one is returned."""
    issued = auth.change_password(
        session,
        principal,
        current_password=body.current_password,
        new_password=body.new_password,
        settings=settings.auth,
        client_ip=client_ip(request),
    )
    return _session_out(issued, principal.user)
