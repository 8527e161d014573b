"""Property: any valid spec gives an app that compiles and lints; a sample passes its tests."""

from __future__ import annotations

import json
import random

from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from appbuilder.agents.orchestrator import Orchestrator
from appbuilder.generator.verify import verify_tree
from appbuilder.spec.loading import build_spec
from appbuilder.spec.validation import resolve
from tests.spec_factory import random_spec

SLOW = [HealthCheck.too_slow]
#: Each example is a whole app (a gate run for the sample): shrinking a failure took over
#: five minutes of CI once, and the failing spec is printed whole anyway.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)


@settings(max_examples=25, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(st.randoms(use_true_random=False))
def test_every_random_spec_gives_code_that_compiles_and_lints(rng: random.Random) -> None:
    spec = build_spec(random_spec(rng))
    result = Orchestrator().generate(spec, resolve(spec), verify=False)
    verification = verify_tree(result.files, checks=("compile", "lint", "format"))
    assert verification.passed, verification.failing_output


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=SLOW,
    phases=NO_SHRINK,
)
@given(st.randoms(use_true_random=False))
def test_a_sample_of_random_specs_passes_its_own_tests(rng: random.Random) -> None:
    data = random_spec(rng)
    note(json.dumps(data, ensure_ascii=True, default=str))  # the failing spec, to rerun it
    spec = build_spec(data)
    result = Orchestrator().generate(spec, resolve(spec))
    assert result.verification is not None
    assert result.succeeded, result.verification.failing_output


@settings(max_examples=10, deadline=None, derandomize=True, suppress_health_check=SLOW)
@given(st.randoms(use_true_random=False))
def test_generation_is_deterministic(rng: random.Random) -> None:
    spec = build_spec(random_spec(rng))
    model = resolve(spec)
    first = Orchestrator().generate(spec, model, verify=False)
    second = Orchestrator().generate(spec, resolve(spec), verify=False)
    assert first.files == second.files
    assert first.tree_hash == second.tree_hash
