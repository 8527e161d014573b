"""The central list of feature names a project may ask for.

The API validates ``Project.features`` against it, and the generator maps each name to
what it builds, so a name is added here once and is known everywhere.
"""

from __future__ import annotations

FEATURES: dict[str, str] = {
    "auth": "Sign-up, log-in and sessions for the generated app's users",
    "admin": "An admin area guarded by role",
    "search": "Full-text search over entities",
    "pagination": "Paginated lists in pages and API",
    "file_uploads": "File uploads stored locally or in S3-compatible storage",
    "comments": "Comments on entities",
    "tags": "Tags on entities",
    "markdown": "Markdown rendering for long text",
    "rss": "An RSS feed",
    "api_keys": "API-key authentication for the generated API",
    "payments": "Stripe checkout with signed webhooks",
    "email": "Transactional email over SMTP",
    "organizations": "Organisations with members and roles; tenant rows scoped to them",
}

KNOWN_FEATURES = frozenset(FEATURES)
