"""File trees as data: path rules, manifests and the content hash of a tree.

A tree is a mapping of POSIX relative paths to bytes. Paths are checked here once, when an
agent's output enters the pipeline, so nothing later can write outside the output folder.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import PurePosixPath
from typing import TypedDict

from appbuilder.errors import UnsafePathError

FileTree = Mapping[str, bytes]

_SAFE_PART = re.compile(r"^[A-Za-z0-9_.@+-]+$")
MAX_PATH_LENGTH = 240


class ManifestEntry(TypedDict):
    path: str
    size: int
    sha256: str


def check_path(path: str) -> str:
    """Return ``path`` if it is a safe relative POSIX path inside the output folder."""
    if not path or len(path) > MAX_PATH_LENGTH:
        raise UnsafePathError(path, "path-length", "empty or too long")
    if path.startswith("/") or "\\" in path or ":" in path:
        raise UnsafePathError(path, "relative-path", "only relative POSIX paths are written")
    parts = PurePosixPath(path).parts
    if any(part in {"", ".", ".."} for part in parts) or str(PurePosixPath(*parts)) != path:
        raise UnsafePathError(path, "inside-folder", "'.', '..' and empty parts are not allowed")
    if not all(_SAFE_PART.match(part) for part in parts):
        raise UnsafePathError(path, "path-characters", "only letters, digits and ._@+- are used")
    if ".git" in parts:
        raise UnsafePathError(path, "no-git", "a generated tree never writes git's own files")
    return path


def manifest(files: FileTree) -> list[ManifestEntry]:
    """What a step wrote, sorted by path: the response recorded for template steps."""
    return [
        {"path": path, "size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
        for path, content in sorted(files.items())
    ]


def tree_hash(files: FileTree) -> str:
    """One hash for a whole tree: equal trees, and only equal trees, hash the same."""
    digest = hashlib.sha256()
    for entry in manifest(files):
        digest.update(f"{entry['path']}\0{entry['sha256']}\n".encode())
    return digest.hexdigest()


def line_count(files: FileTree) -> int:
    return sum(content.count(b"\n") for content in files.values())
