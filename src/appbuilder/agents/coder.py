"""BACKEND with a model: the template's skeleton, plus code for actions and rules in words.

The skeleton stays deterministic (the template agent renders it); for each entity with
actions the model writes one router module under ``app/custom/`` and its tests under
``tests/custom/``, and for each entity with rules one hooks module (``<Entity>Rules``, a
subclass of the skeleton's ``app.hooks.Hooks`` that the entity's service calls around
every write) and its tests; nothing else: the paths are fixed, the code is checked by
``code_rules`` (problems go back to the model for another try), and a router reaches the
app only through a registration the assembly step writes into ``app/main.py``. The app's
own checks (lint, strict types, its tests, the custom ones included) then decide.

Each call's output is kept in the step's record, so a resumed run replays it instead of
asking the model again.
"""

from __future__ import annotations

import ast
import json
import re
import time
from dataclasses import dataclass, field

from pydantic import BaseModel
from pydantic import Field as Described
from pydantic_ai import Agent

from appbuilder.agents.base import AgentInput, AgentOutput, StepRecord, TemplateAgent
from appbuilder.agents.code_rules import problems_in
from appbuilder.agents.prompting import structured_agent
from appbuilder.agents.repairs import after_repair
from appbuilder.enums import AgentType, GenerationStatus
from appbuilder.generator.files import manifest
from appbuilder.llm.calls import CallRecord, ModelRetry, RunContext, Task, Usage, run_task
from appbuilder.spec.model import AppSpec, EntitySpec
from appbuilder.spec.names import entity_names
from appbuilder.spec.resolved import AppModel
from appbuilder.stacks.base import Router

#: the most one answer may take (a router and its tests)
MAX_OUTPUT_TOKENS = 12_000
#: a rule's message shorter than this is too common to say whose failure it is
MIN_MESSAGE = 16
#: the generated app's test of its sample rows (see ``refused_by_rules``)
SEED_TEST = "tests/test_seed.py"
#: the header of one test's section in pytest's output: ``____ test_name ____``
_SECTION = re.compile(r"^_{3,} .* _{3,}$", re.MULTILINE)
PACKAGES = {
    "app/custom/__init__.py": b'"""Code written for the spec\'s words: actions and rules."""\n',
    "tests/custom/__init__.py": b"",
}


class CodeFile(BaseModel):
    path: str = Described(description="Its path in the app: app/custom/task_actions.py")
    content: str = Described(description="The whole file")


class CustomCode(BaseModel):
    """The files for one entity's actions or rules: its module and its tests."""

    files: list[CodeFile]


@dataclass
class _Written:
    """What the model wrote for one step: files (path -> source), calls, routers."""

    code: dict[str, str] = field(default_factory=dict)
    calls: list[CallRecord] = field(default_factory=list)
    routers: list[Router] = field(default_factory=list)


@dataclass
class _Asked:
    allowed: tuple[str, ...]
    attempts: int
    #: files the model may write but need not (a rules entity's examples)
    optional: tuple[str, ...] = ()


def _check(context: RunContext[_Asked], answer: CustomCode) -> CustomCode:
    asked = context.deps
    problems = problems_in({f.path: f.content for f in answer.files}, asked.allowed, asked.optional)
    if problems and context.retry < asked.attempts - 1:
        raise ModelRetry("The code was refused:\n" + "\n".join(f"- {p}" for p in problems))
    if problems:
        raise ModelRetry("The code was refused again:\n" + "\n".join(problems))
    return answer


def _coder(attempts: int, kind: str) -> Agent[_Asked, CustomCode]:
    return structured_agent(
        CustomCode,
        _Asked,
        _check,
        role="backend",
        name=kind,
        attempts=attempts,
        max_tokens=MAX_OUTPUT_TOKENS,
    )


#: what the model writes per entity: its actions (a router) and its rules (hooks)
KINDS = ("actions", "rules")


def paths_for(entity: EntitySpec, kind: str = "actions") -> tuple[str, str]:
    snake = entity_names(entity.name).snake
    return f"app/custom/{snake}_{kind}.py", f"tests/custom/test_{snake}_{kind}.py"


def examples_path(entity: EntitySpec) -> str:
    """The skeleton's examples of a rules entity, which the model may rewrite to keep its rules."""
    return f"tests/custom/{entity_names(entity.name).snake}_examples.py"


def _asked(entity: EntitySpec, kind: str, attempts: int) -> _Asked:
    optional = (examples_path(entity),) if kind == "rules" else ()
    return _Asked(paths_for(entity, kind), attempts, optional)


def rule_messages(source: str) -> list[str]:
    """The messages a rules module's ``FieldError``s carry (their constant parts): a skeleton
    test failing with one of them was refused by the model's rule, so it is the model's."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name != "FieldError":
            continue
        given = [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "message")]
        for message in given:
            parts = message.values if isinstance(message, ast.JoinedStr) else [message]
            found += [
                part.value
                for part in parts
                if isinstance(part, ast.Constant)
                and isinstance(part.value, str)
                and len(part.value.strip()) >= MIN_MESSAGE
            ]
    return found


def _refused_by(
    failure: str, entity: EntitySpec, kind: str, code: dict[str, str], skeleton: str
) -> bool:
    """Whether ``failure`` names this job's files or carries one of its rules' messages."""
    mine = (*paths_for(entity, kind), *((examples_path(entity),) if kind == "rules" else ()))
    if any(path in failure for path in mine):
        return True
    module = paths_for(entity, kind)[0]
    return kind == "rules" and refused_by_rules(failure, code.get(module, ""), skeleton)


def refused_by_rules(failure: str, source: str, skeleton: str) -> bool:
    """Whether a test outside the sample rows' failed on a message of these rules that the
    skeleton does not say itself. The sample rows' test is left out: its rows are the
    DATABASE agent's, which the model writing the rules cannot change."""
    text = _outside(failure, SEED_TEST)
    return any(m in text and m not in skeleton for m in rule_messages(source))


def _outside(failure: str, test_file: str) -> str:
    """``failure`` without the sections and summary lines of ``test_file``."""
    kept = [part for part in _SECTION.split(failure) if test_file not in part]
    return "\n".join(line for line in "\n".join(kept).splitlines() if test_file not in line)


def _skeleton_text(output: AgentOutput, code: dict[str, str]) -> str:
    return "\n".join(
        content.decode(errors="replace")
        for path, content in output.files.items()
        if path not in code and path.endswith(".py")
    )


def jobs(spec: AppSpec) -> list[tuple[EntitySpec, str]]:
    """Each entity's words to implement, one model answer each: (entity, kind)."""
    return [(e, kind) for e in spec.entities for kind in KINDS if getattr(e, kind)]


def _request(entity: EntitySpec, kind: str, model: AppModel, skeleton: dict[str, bytes]) -> str:
    names = entity_names(entity.name, entity.label, entity.plural_label)
    module, tests = paths_for(entity, kind)
    if kind == "actions":
        words = "\n".join(f"- {a.name}: {a.description}" for a in entity.actions)
        shown: tuple[str, ...] = (f"app/schemas/{names.snake}.py", f"app/routers/{names.snake}.py")
    else:
        words = "\n".join(f"- {rule}" for rule in entity.rules)
        shown = (f"app/schemas/{names.snake}.py", "app/hooks.py", examples_path(entity))
    also = "."
    if kind == "rules":
        also = f"; and {examples_path(entity)} if its examples break a rule."
    context = [
        f"Entity: {names.pascal} (module {names.snake}, URLs /api/{names.kebab_plural}).",
        f"Accounts: {'yes' if model.has('auth') else 'no'}.",
        f"Write exactly: {module} and {tests}{also}",
        f"{kind.capitalize()}:\n{words}",
    ]
    for path in shown:
        if path in skeleton:
            context.append(f"{path}:\n{skeleton[path].decode()}")
    if kind == "rules":
        context.append(f"tests/factories.py (its examples):\n{_payload_of(skeleton, names.snake)}")
    return "\n\n".join(context)


def _payload_of(skeleton: dict[str, bytes], snake: str) -> str:
    """The skeleton's example-row function for one entity, not the whole factories module."""
    source = skeleton.get("tests/factories.py", b"").decode()
    start = source.find(f"def {snake}_payload(")
    if start < 0:
        return ""
    end = source.find("\n\n\n", start)
    return source[start : end if end >= 0 else None]


#: what a repair asks for, by kind of job
FIX = {
    "actions": "Fix them; answer with both files whole.",
    "rules": "Fix them; answer with both files whole, and the examples file whole if you "
    "change it. If a skeleton test failed because your rule refused its example row, keep "
    "the rule as strict as its words and change the examples instead.",
}


class CoderAgent:
    """The BACKEND role: the template's files, and a model's code for the spec's actions."""

    agent_type = AgentType.BACKEND

    def __init__(self, task: Task, attempts: int = 3) -> None:
        self.template = TemplateAgent(AgentType.BACKEND)
        self.task = task
        self.attempts = attempts
        #: how often the app's failing checks may come back for the model's code
        self.repair_attempts = task.settings.repair_attempts

    def owns(self, output: AgentOutput, failure: str) -> bool:
        """Its files are named, or a skeleton test failed on a message of its rules (the
        rule refused the skeleton's example row: the model's to fix, with its examples)."""
        code = _code_of(output)
        if any(path in failure for path in code):
            return True
        skeleton = _skeleton_text(output, code)
        rules = (source for path, source in code.items() if path.endswith("_rules.py"))
        return any(refused_by_rules(failure, source, skeleton) for source in rules)

    def repair(self, task: AgentInput, output: AgentOutput, failure: str) -> AgentOutput:
        """Ask again, with the failure, for the entities whose files it names."""
        started = time.perf_counter()
        code = _code_of(output)
        skeleton = _skeleton_text(output, code)
        written = _Written(code=dict(code))
        for entity, kind in jobs(task.spec):
            if not _refused_by(failure, entity, kind, code, skeleton):
                continue
            asked = _asked(entity, kind, self.attempts)
            # the examples file only when the model wrote it: the request shows the default
            mine = "\n\n".join(
                f"{path}:\n{code.get(path, '')}"
                for path in (*asked.allowed, *(p for p in asked.optional if p in code))
            )
            request = (
                f"{_request(entity, kind, task.model, dict(output.files))}\n\nYour files:\n"
                f"{mine}\n\nThe app's checks failed on them:\n{failure}\n\n{FIX[kind]}"
            )
            fixed, made = run_task(_coder(self.attempts, kind), request, self.task, deps=asked)
            written.calls += made
            written.code |= {f.path: f.content for f in fixed.files}
        written.routers = _routers(written.code)
        repaired = self._output(task, self.template.run(task), written, started)
        return after_repair(output, repaired)

    def run(self, task: AgentInput) -> AgentOutput:
        started = time.perf_counter()
        output = self.template.run(task)
        written = _Written()
        for entity, kind in jobs(task.spec):
            request = _request(entity, kind, task.model, dict(output.files))
            asked = _asked(entity, kind, self.attempts)
            code, made = run_task(_coder(self.attempts, kind), request, self.task, deps=asked)
            written.calls += made
            written.code |= {f.path: f.content for f in code.files}
        written.routers = _routers(written.code)
        return self._output(task, output, written, started)

    def replay(self, task: AgentInput, record: StepRecord) -> AgentOutput:
        """A finished step of an earlier attempt: its code from the record, no model call."""
        output = self.template.run(task)
        written = json.loads(record.response).get("code", {})
        routers = _routers(written)
        files = {**output.files, **PACKAGES, **{p: c.encode() for p, c in written.items()}}
        return AgentOutput(files, record, (*output.registrations, *routers))

    def _output(
        self, task: AgentInput, output: AgentOutput, written: _Written, started: float
    ) -> AgentOutput:
        files = dict(output.files)
        if written.code:
            files |= PACKAGES | {path: code.encode() for path, code in written.code.items()}
        calls = written.calls
        record = StepRecord(
            agent=self.agent_type,
            prompt=self.template.summary(task)
            + "".join(f"\n\n--- model call {n + 1}\n{c.prompt}" for n, c in enumerate(calls)),
            response=json.dumps(
                {"files": manifest(files), "code": written.code}, separators=(",", ":")
            ),
            status=GenerationStatus.COMPLETED,
            tokens_used=Usage.of(calls).tokens,
            duration_ms=round((time.perf_counter() - started) * 1000),
        )
        return AgentOutput(files, record, (*output.registrations, *written.routers))


def _code_of(output: AgentOutput) -> dict[str, str]:
    """The model's files of a step (from its record: the same after a replay)."""
    code: dict[str, str] = json.loads(output.record.response).get("code", {})
    return code


def _routers(code: dict[str, str]) -> list[Router]:
    """The model's action modules, each a router the assembly step includes (its rules
    modules are hooks the services import instead)."""
    return [
        Router("app.custom", _module(path), order=25)
        for path in code
        if path.startswith("app/custom/") and path.endswith("_actions.py")
    ]


def _module(path: str) -> str:
    """``app/custom/task_actions.py`` -> ``task_actions``."""
    return path.rsplit("/", 1)[1].removesuffix(".py")
