"""The project store: one git repository per project on storage every worker reaches, so
a project's history no longer lives only in one machine's data directory.

Before a run commits, its worker brings its copy of the project's history up to the
store's (a run resumed on another machine then commits on top of the right parent, and
finds the commit a dead worker already made for it); after the commit, it pushes back.
A server showing files fetches a commit it lacks the same way. The store is the shared
truth: a local copy that diverged from it is reset to it.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from appbuilder.errors import ExternalToolError, NotFoundError
from appbuilder.generator.history import ProjectHistory, init_bare
from appbuilder.services.repository_git import Remote, shown_url

log = logging.getLogger(__name__)


def _local_base(store: str) -> Path | None:
    """The store's directory when it is on this machine's file system."""
    if "://" not in store:
        return Path(store).expanduser()
    parts = urlsplit(store)
    return Path(parts.path) if parts.scheme == "file" else None


def store_folder(store: str, project_id: str) -> Path | None:
    """The project's bare repository when the store is on this machine's file system."""
    local = _local_base(store)
    return None if local is None else local / f"{project_id}.git"


def store_remote(store: str, project_id: str) -> Remote:
    """The project's repository in the store (created when the store is a directory)."""
    local = _local_base(store)
    if local is not None:
        path = local / f"{project_id}.git"
        init_bare(path)
        return Remote(str(path))
    return Remote(f"{store.rstrip('/')}/{project_id}.git")


def sync_from_store(history: ProjectHistory, store: str, project_id: str) -> None:
    """Bring the local history up to the store's; a local copy ahead of it is kept (its
    commit is pushed next), one that diverged is reset to the store's."""
    remote = store_remote(store, project_id)
    try:
        fetched = history.fetch(remote.url, extra_env=remote.git_env())
    except ExternalToolError as error:
        raise ExternalToolError(
            f"Could not read the project store {shown_url(store)}: {remote.mask(error.message)}"
        ) from error
    if fetched is None:
        return
    head = history.head()
    if head == fetched:
        return
    if head is not None and history.contains(fetched, head):
        return  # ours is ahead: the push after the next commit brings the store along
    if head is not None and not history.contains(head, fetched):
        log.warning("project %s: local history diverged from the store's; took it", project_id)
    history.adopt(fetched)


def push_to_store(history: ProjectHistory, store: str, project_id: str) -> None:
    """Push the local history to the store; ExternalToolError when it refuses."""
    remote = store_remote(store, project_id)
    pushed = history.push(remote.url, force=False, extra_env=remote.git_env())
    if not pushed.ok:
        lines = remote.mask(pushed.output).splitlines()
        raise ExternalToolError(
            f"Could not push to the project store {shown_url(store)}: "
            f"{lines[-1] if lines else 'git push failed'}"
        )


def has_commit(history: ProjectHistory, commit: str) -> bool:
    try:
        history.resolve(commit)
    except NotFoundError:  # no such commit, or no repository yet: both mean "fetch"
        return False
    return True
