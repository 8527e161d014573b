"""The one place the engine touches disk: write a finished tree, atomically.

The tree is written to a sibling temporary folder and renamed into place only when every
file is there, so a failure never leaves half an app where a good one was. An existing
empty folder is filled in place instead (its entries moved in from the scratch copy), so
a shell sitting in it (``uab generate -o .``) stays in a folder that exists.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from appbuilder.errors import RefusedError
from appbuilder.generator.files import FileTree, check_path


def write_files(files: FileTree, folder: Path) -> None:
    """Write ``files`` under ``folder`` (which must exist), checking every resolved path."""
    root = folder.resolve()
    for path, content in sorted(files.items()):
        target = root / check_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.parent.resolve().is_relative_to(root) or target.is_symlink():
            raise RefusedError(f"Refusing to write {path!r}: it would leave {root}.")
        with target.open("xb") as handle:
            handle.write(content)


def ensure_writable_target(target: Path, *, force: bool) -> None:
    """Refuse a non-empty target folder unless ``force``; refuse files and links always.

    Even with ``force``, never replace the current folder, one of its parents, the home
    folder or a git repository: replacing a folder deletes everything in it.
    """
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        raise RefusedError(f"{target} exists and is not a folder.")
    if not target.is_dir() or not any(target.iterdir()):
        return
    if not force:
        raise RefusedError(f"{target} is not empty; pass --force to replace it.")
    resolved = target.resolve()
    cwd, home = Path.cwd().resolve(), Path.home().resolve()
    if resolved in {cwd, *cwd.parents, home, *home.parents}:
        raise RefusedError(
            f"Refusing to replace {target}: it holds the current or home folder. Generate "
            "into an empty or new folder instead (the current folder is filled in place "
            "only when it is empty)."
        )
    if (resolved / ".git").exists():
        raise RefusedError(f"Refusing to replace {target}: it is a git repository.")


#: What a generated app's user creates beside the generated files (settings, a virtual
#: environment, SQLite data, uploads): carried over when the app is generated again.
LOCAL_STATE = (".env", ".venv", "uploads", "*.db", "*.db-wal", "*.db-shm")


@dataclass(frozen=True)
class Written:
    path: Path
    kept: tuple[str, ...] = ()


def write_tree(
    files: FileTree, target: Path, *, force: bool = False, keep: tuple[str, ...] = ()
) -> Written:
    """Write ``files`` as the whole content of ``target``, replacing it only when complete.

    Top-level entries of the old folder matching ``keep`` (and not generated) move over.
    """
    target = target.absolute()
    ensure_writable_target(target, force=force)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    kept: list[str] = []
    try:
        write_files(files, staging)
        staging.chmod(0o755)
        if target.is_dir() and not any(target.iterdir()):
            _fill(target, staging)
        elif target.exists():
            _carry_over(target, staging, keep, files, kept)
            _swap(target, staging)
        else:
            os.replace(staging, target)
    except BaseException:
        if target.is_dir():  # the old tree is in place: give the user's files back to it
            for name in kept:
                if (staging / name).exists() or (staging / name).is_symlink():
                    os.replace(staging / name, target / name)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return Written(target, tuple(kept))


def _fill(target: Path, staging: Path) -> None:
    """Move the finished tree's entries into the empty ``target``; on failure empty it again."""
    moved: list[Path] = []
    try:
        for entry in sorted(staging.iterdir()):
            os.replace(entry, target / entry.name)
            moved.append(target / entry.name)
    except BaseException:
        for entry in moved:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
        raise
    shutil.rmtree(staging)


def _carry_over(
    old: Path, new: Path, keep: tuple[str, ...], files: FileTree, kept: list[str]
) -> None:
    """Move matching entries (links as links) into the new tree, recording each as it goes."""
    generated = {path.split("/", 1)[0] for path in files}
    for entry in sorted(old.iterdir()):
        wanted = any(fnmatch(entry.name, pattern) for pattern in keep)
        if wanted and entry.name not in generated:
            os.replace(entry, new / entry.name)
            kept.append(entry.name)


def _swap(target: Path, staging: Path) -> None:
    """The new tree in place of the old; on failure the old tree goes back (the caller
    then returns the carried-over files to it)."""
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
    os.replace(target, old / "tree")
    try:
        os.replace(staging, target)
    except OSError:
        os.replace(old / "tree", target)
        raise
    finally:
        shutil.rmtree(old, ignore_errors=True)
