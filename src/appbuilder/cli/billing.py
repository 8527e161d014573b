"""``uab billing``: what an operator checks when a user asks about their plan."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from appbuilder.cli._runtime import console, open_database
from appbuilder.db.session import reading
from appbuilder.errors import NotFoundError
from appbuilder.services.billing.state import billing_state, plan_catalogue
from appbuilder.services.users import get_user_by_email
from appbuilder.settings import get_settings

app = typer.Typer(help="Plans on offer and a user's billing state.", no_args_is_help=True)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment is not None else "-"


def _limit(value: int | None) -> str:
    return "unlimited" if value is None else f"{value:,}"


@app.command("plans")
def plans() -> None:
    """Every tier's limits and the billing intervals on sale (UAB_STRIPE_PRICES)."""
    table = Table("tier", "projects", "runs/month", "tokens/month", "at once", "on sale")
    for offer in plan_catalogue(get_settings().billing):
        limits = offer.limits
        table.add_row(
            offer.tier.value,
            _limit(limits.projects),
            _limit(limits.generations_per_month),
            _limit(limits.tokens_per_month),
            _limit(limits.concurrent_generations),
            ", ".join(offer.intervals) or "-",
        )
    console.print(table)


@app.command("show")
def show(email: Annotated[str, typer.Argument(help="The user's email.")]) -> None:
    """A user's tier, the tier whose limits hold now, status, dates and usage."""
    with open_database() as database, reading(database.sessions) as session:
        user = get_user_by_email(session, email)
        if user is None:
            raise NotFoundError("User", email)
        state = billing_state(session, user, database.settings.billing)
        granted = f"by {state.granted_by_id} at {_when(state.granted_at)}"
        lines = {
            "tier": state.tier.value,
            "limits of": state.effective_tier.value,
            "status": state.status or "never subscribed",
            "renews": _when(state.renews_at),
            "grace ends": _when(state.grace_ends_at),
            "granted": granted if state.granted_at else "-",
            "stripe customer": user.stripe_customer_id or "-",
        }
        for name, value in lines.items():
            console.print(f"{name:>16}: {escape(value)}", highlight=False)
        for line in state.usage.lines:
            console.print(
                f"{line.limit:>16}: {line.used:,} of {_limit(line.allowed)}", highlight=False
            )
