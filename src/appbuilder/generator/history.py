"""A project's output as a git repository: one commit per successful run.

Commits are written with ``git fast-import`` straight from the in-memory tree (one process,
no temporary files), then the work tree is reset to it so the folder can be used as it is
(``make run``). Reads go through git objects, never the file system, so a request can only
ever see what a commit holds: no path can reach outside the repository.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from appbuilder.errors import ExternalToolError, NotFoundError, UnsafePathError, ValidationError
from appbuilder.generator.files import FileTree, check_path

BRANCH = "main"
AUTHOR = "Ultimate App Builder <builder@appbuilder.invalid>"
#: how much of a file's start decides "binary" (git's own rule: a NUL byte in the first 8000)
BINARY_SNIFF = 8000
_GIT_ENV = {
    # no system or user configuration (signing, hooks, templates) can change what we write
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_TERMINAL_PROMPT": "0",
    "LC_ALL": "C",
}


#: where a fetched remote branch is kept (never a branch of its own: only ``main`` is ours)
FETCHED = "refs/uab/fetched"


@dataclass(frozen=True)
class Pushed:
    """A push's outcome: accepted, refused because the remote moved on, or failed."""

    ok: bool
    rejected: bool
    sha: str | None
    #: git's own words (may name the remote's URL: mask before showing)
    output: str


@dataclass(frozen=True)
class TreeEntry:
    path: str
    size: int
    sha: str


@dataclass(frozen=True)
class Blob:
    path: str
    size: int
    content: bytes | None  # None when larger than the limit asked for

    @property
    def binary(self) -> bool:
        return self.content is not None and (
            b"\0" in self.content[:BINARY_SNIFF] or not _is_utf8(self.content)
        )


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def init_bare(path: Path) -> None:
    """An empty bare repository at ``path`` (a project store's), if there is none yet."""
    if (path / "HEAD").is_file():
        return
    path.mkdir(parents=True, exist_ok=True)
    ProjectHistory(path)._run("init", "--bare", "--quiet", f"--initial-branch={BRANCH}")


class ProjectHistory:
    """The repository of one project at ``path`` (created on the first commit)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @property
    def exists(self) -> bool:
        return (self.path / ".git").is_dir()

    def _git(
        self,
        *args: str,
        stdin: bytes | None = None,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
    ) -> bytes:
        return self._run(*args, stdin=stdin, check=check, extra_env=extra_env).stdout

    def _run(
        self,
        *args: str,
        stdin: bytes | None = None,
        check: bool = True,
        extra_env: Mapping[str, str] | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        env = {**os.environ, **_GIT_ENV, **(extra_env or {})}
        try:
            done = subprocess.run(  # noqa: S603 - fixed git arguments, no shell
                ["git", *args],  # noqa: S607 - git from PATH, like a user's own
                cwd=self.path,
                input=stdin,
                capture_output=True,
                env=env,
                check=False,
            )
        except FileNotFoundError as error:
            message = "git is not installed; it keeps each project's history."
            raise ExternalToolError(message) from error
        if check and done.returncode != 0:
            raise _failed(args[0], done)
        return done

    def _init(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        if not self.exists:
            self._git("init", "--quiet", f"--initial-branch={BRANCH}")

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One writer at a time (an advisory lock the OS drops with a dead process); a
        writer killed mid-commit leaves git's lock files, which are stale once we hold it."""
        self._init()
        with (self.path / ".git" / "uab-writer.lock").open("a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                for lock in (f"refs/heads/{BRANCH}.lock", "index.lock", "HEAD.lock"):
                    (self.path / ".git" / lock).unlink(missing_ok=True)
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def head(self) -> str | None:
        if not self.exists:
            return None
        # the loose ref, read directly (a git process per look-up costs more than the
        # commit itself); rev-parse when git packed it
        loose = self.path / ".git" / "refs" / "heads" / BRANCH
        with suppress(OSError):
            tip = loose.read_text(encoding="ascii").strip()
            if len(tip) == 40:
                return tip
        out = self._git("rev-parse", "--verify", "--quiet", f"refs/heads/{BRANCH}", check=False)
        return out.decode().strip() or None

    def find_commit(self, marker: str) -> str | None:
        """The newest commit whose message contains ``marker`` (a run id), if any."""
        if self.head() is None:
            return None
        out = self._git("log", "--format=%H", "-F", f"--grep={marker}", "-n", "1", BRANCH)
        return out.decode().strip() or None

    def commit(
        self, files: FileTree, message: str, *, when: datetime, marker: str, retry: bool = True
    ) -> str:
        """Commit ``files`` as the whole tree; idempotent per ``marker`` (a retried run that
        already committed gets its commit back instead of a second one). ``retry=False``
        (a first attempt: it can't have committed) skips that search."""
        with self._writing():
            existing = self.find_commit(marker) if retry else None
            return existing or self._commit(files, message, when=when)

    def _commit(self, files: FileTree, message: str, *, when: datetime) -> str:
        parent = self.head()
        stamp = f"{int(when.timestamp())} +0000"
        encoded = message.encode("utf-8")
        stream = bytearray()
        stream += f"commit refs/heads/{BRANCH}\n".encode()
        stream += f"author {AUTHOR} {stamp}\ncommitter {AUTHOR} {stamp}\n".encode()
        stream += f"data {len(encoded)}\n".encode() + encoded + b"\n"
        if parent:
            stream += f"from {parent}\n".encode()
        stream += b"deleteall\n"
        for path, content in sorted(files.items()):
            check_path(path)
            stream += f"M 100644 inline {path}\ndata {len(content)}\n".encode()
            stream += content + b"\n"
        stream += b"done\n"
        self._git("fast-import", "--quiet", "--done", stdin=bytes(stream))
        self._git("reset", "--hard", "--quiet", BRANCH)
        head = self.head()
        if head is None:  # pragma: no cover - fast-import succeeded, so the ref exists
            raise ExternalToolError("git fast-import wrote no commit")
        return head

    # -- remotes: a push target, or the project store other workers share ----------------

    def push(self, url: str, *, force: bool, extra_env: Mapping[str, str]) -> Pushed:
        """Push the branch to ``url``; a remote that moved on (diverged) refuses, unless
        ``force``. Never raises for the remote's answer: the caller records it."""
        with self._writing():
            head = self.head()
            if head is None:
                return Pushed(ok=False, rejected=False, sha=None, output="nothing to push yet")
            spec = f"{'+' if force else ''}refs/heads/{BRANCH}:refs/heads/{BRANCH}"
            done = self._run(
                "push", "--porcelain", "--quiet", url, spec, check=False, extra_env=extra_env
            )
        output = (done.stdout + done.stderr).decode("utf-8", "replace").strip()
        rejected = done.returncode != 0 and "[rejected]" in output
        return Pushed(ok=done.returncode == 0, rejected=rejected, sha=head, output=output)

    def fetch(self, url: str, *, extra_env: Mapping[str, str]) -> str | None:
        """The remote branch's commit, fetched into this repository (None: the remote has
        no branch yet). Raises ExternalToolError when the remote cannot be read."""
        self._init()
        done = self._run(
            "fetch", "--quiet", "--no-tags", url, f"+refs/heads/{BRANCH}:{FETCHED}",
            check=False, extra_env=extra_env,
        )  # fmt: skip
        if done.returncode != 0:
            text = done.stderr.decode("utf-8", "replace")
            if f"couldn't find remote ref refs/heads/{BRANCH}" in text:
                return None
            lines = text.strip().splitlines()
            raise ExternalToolError(f"git fetch failed: {lines[-1] if lines else done.returncode}")
        out = self._git("rev-parse", "--verify", "--quiet", FETCHED, check=False)
        return out.decode().strip() or None

    def adopt(self, commit: str) -> None:
        """Make ``commit`` (already fetched) the branch's tip and the work tree's content."""
        with self._writing():
            self._git("update-ref", f"refs/heads/{BRANCH}", commit)
            self._git("reset", "--hard", "--quiet", BRANCH)

    def tree_id(self, commit: str) -> str:
        """The id of ``commit``'s tree: two commits with equal ids hold identical files."""
        return self._git("rev-parse", f"{commit}^{{tree}}").decode().strip()

    def contains(self, ancestor: str, commit: str) -> bool:
        """True when ``ancestor`` is ``commit`` or one of its parents' line."""
        done = self._run("merge-base", "--is-ancestor", ancestor, commit, check=False)
        return done.returncode == 0

    def restore(self, commit: str, message: str, *, when: datetime) -> str:
        """A new commit on the branch whose tree is ``commit``'s: an earlier version made
        current again, with every commit since kept in the history."""
        with self._writing():
            parent = self.head()
            if parent is None:
                raise NotFoundError("Generated files of project", "(none yet: run a generation)")
            stamp = f"{int(when.timestamp())} +0000"
            name, email = AUTHOR[: AUTHOR.index(" <")], AUTHOR[AUTHOR.index("<") + 1 : -1]
            dated = {
                "GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": stamp,
                "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email,
                "GIT_COMMITTER_DATE": stamp,
            }  # fmt: skip
            sha = self._git(
                "commit-tree", f"{commit}^{{tree}}", "-p", parent, "-F", "-",
                stdin=message.encode("utf-8"), extra_env=dated,
            ).decode().strip()  # fmt: skip
            self._git("update-ref", f"refs/heads/{BRANCH}", sha, parent)
            self._git("reset", "--hard", "--quiet", BRANCH)
            return sha

    def resolve(self, commit: str | None) -> str:
        """A full commit id of this repository: ``commit`` (hex, checked) or the latest."""
        head = self.head()
        if head is None:
            raise NotFoundError("Generated files of project", "(none yet: run a generation)")
        if commit is None:
            return head
        spec = f"{commit}^{{commit}}"
        done = self._run("rev-parse", "--verify", "--quiet", spec, check=False)
        sha = done.stdout.decode().strip()
        if not sha and done.returncode != 1:  # 1 and nothing said: asked, and not there
            raise _failed("rev-parse", done)
        if not sha:
            raise NotFoundError("Commit", commit)
        return sha

    def tree(self, commit: str) -> list[TreeEntry]:
        """Every file of ``commit``; not found when the repository or the commit is missing
        (told apart from git failing only then, so a listing is one git process)."""
        if not self.exists:
            raise NotFoundError("Generated files of project", "(none yet: run a generation)")
        done = self._run("ls-tree", "-r", "-l", "-z", "--full-tree", commit, check=False)
        if done.returncode != 0:
            self.resolve(commit)  # not found, or a repository git cannot read
            raise _failed("ls-tree", done)
        out = done.stdout
        entries = []
        for line in out.split(b"\0"):
            if not line:
                continue
            meta, path = line.split(b"\t", 1)
            _mode, _kind, sha, size = meta.split()
            entries.append(TreeEntry(path.decode("utf-8", "replace"), int(size), sha.decode()))
        return entries

    def read(self, commit: str, path: str, *, limit: int) -> Blob:
        """One file of a commit; its content only when it is at most ``limit`` bytes."""
        try:
            check_path(path)
        except UnsafePathError as error:
            raise ValidationError(
                "path", error.rule, f"{path!r} is not a file path of this project: {error.reason}"
            ) from error
        spec = f"{commit}:{path}"
        kind = self._git("cat-file", "-t", spec, check=False).decode().strip()
        if kind != "blob":
            raise NotFoundError("File", path)
        size = int(self._git("cat-file", "-s", spec).decode().strip())
        content = self._git("cat-file", "blob", spec) if size <= limit else None
        return Blob(path, size, content)

    def diff(self, old: str, new: str, *, limit: int) -> str:
        """A unified diff, cut at ``limit`` bytes (with a last line saying so)."""
        out = self._git("diff", "--no-color", "--no-ext-diff", "--no-textconv", old, new)
        if len(out) <= limit:
            return out.decode("utf-8", "replace")
        cut = out[:limit].decode("utf-8", "ignore")
        return f"{cut}\n# diff cut at {limit} bytes of {len(out)}; download both versions\n"

    def archive(self, commit: str, prefix: str) -> Iterator[bytes]:
        """A zip of the commit, streamed as git writes it."""
        env = {**os.environ, **_GIT_ENV}
        process = subprocess.Popen(  # noqa: S603 - fixed git arguments, no shell
            ["git", "archive", "--format=zip", f"--prefix={prefix}/", commit],  # noqa: S607
            cwd=self.path,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
        )
        assert process.stdout is not None  # noqa: S101 - asked for a pipe
        try:
            while chunk := process.stdout.read(64 * 1024):
                yield chunk
        finally:
            process.stdout.close()
            if process.poll() is None:
                process.kill()
            process.wait()


def _failed(command: str, done: subprocess.CompletedProcess[bytes]) -> ExternalToolError:
    lines = done.stderr.decode("utf-8", "replace").strip().splitlines()
    return ExternalToolError(f"git {command} failed: {lines[-1] if lines else done.returncode}")
