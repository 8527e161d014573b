"""The platform's web UI: server-rendered pages on the same services as the API, a cookie
session with a CSRF token on every form, one stylesheet and one small script of our own."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from appbuilder.settings import Settings
from appbuilder.web.ui import pages_auth, pages_dashboard, pages_projects, pages_runs
from appbuilder.web.ui.deps import csrf_key, secure_cookies
from appbuilder.web.ui.errors import install_ui_error_pages
from appbuilder.web.ui.headers import UiHeadersMiddleware
from appbuilder.web.ui.pages_account import router as account_router
from appbuilder.web.ui.pages_admin import router as admin_router
from appbuilder.web.ui.pages_billing import router as billing_router
from appbuilder.web.ui.pages_deployments import router as deployments_router
from appbuilder.web.ui.pages_files import router as files_router
from appbuilder.web.ui.pages_keys import router as keys_router

STATIC = Path(__file__).parent / "static"
ROUTERS = (pages_auth.router, pages_dashboard.router, pages_projects.router, pages_runs.router)
#: a project's files and deployments, API keys, the account, plan and admin pages
ACCOUNT_ROUTERS = (
    files_router,
    deployments_router,
    keys_router,
    account_router,
    billing_router,
    admin_router,
)


def install_ui(app: FastAPI, settings: Settings) -> None:
    """Pages, static files, styled error pages and the UI's headers (after the API's error
    handlers are installed: the UI's wrap them)."""
    app.state.csrf_key = csrf_key(settings)
    for router in (*ROUTERS, *ACCOUNT_ROUTERS):
        app.include_router(router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    install_ui_error_pages(app)
    app.add_middleware(UiHeadersMiddleware, secure=secure_cookies(settings))
