"""The verification gate: isolated, stripped of secrets, time-limited, honest about failure."""

from __future__ import annotations

import threading

import pytest

from appbuilder.generator.verify import network_isolation_prefix, verify_tree

PYPROJECT = (
    b'[tool.ruff]\nline-length = 100\n[tool.mypy]\nstrict = true\nfiles = ["tests"]\n'
    b'[tool.pytest.ini_options]\ntestpaths = ["tests"]\n'
)


def tree(test_body: str) -> dict[str, bytes]:
    return {"pyproject.toml": PYPROJECT, "tests/test_it.py": test_body.encode()}


def test_a_passing_tree_reports_its_counts() -> None:
    result = verify_tree(
        tree(
            "def test_one() -> None:\n    assert True\n\n\n"
            "def test_two() -> None:\n    assert 1 + 1 == 2\n"
        )
    )
    assert result.passed, result.failing_output
    assert (result.tests_passed, result.tests_failed) == (2, 0)
    assert result.summary().startswith("passed: 2 tests passed")


def test_a_failing_test_fails_the_gate_with_its_output() -> None:
    result = verify_tree(
        tree("def test_broken() -> None:\n    assert 'left' == 'right'\n"), checks=("tests",)
    )
    assert not result.passed
    assert result.tests_failed == 1
    assert "test_broken" in result.failing_output
    assert "FAILED" in result.summary()


def test_syntax_errors_stop_at_the_compile_check() -> None:
    result = verify_tree(
        {**tree("def test_x() -> None:\n    pass\n"), "app/bad.py": b"def broken(:\n"}
    )
    assert [c.name for c in result.checks] == ["compile"]
    assert "app/bad.py" in result.failing_output


def test_lint_failures_fail_the_gate() -> None:
    result = verify_tree(tree("import os\n\n\ndef test_x() -> None:\n    pass\n"))
    assert [(c.name, c.passed) for c in result.checks] == [("compile", True), ("lint", False)]
    assert "F401" in result.failing_output


def test_type_errors_fail_the_gate_at_the_types_check() -> None:
    body = 'def test_x() -> None:\n    count: int = "three"\n    assert count\n'
    result = verify_tree(tree(body))
    assert [(c.name, c.passed) for c in result.checks][-1] == ("types", False)
    assert "Incompatible types in assignment" in result.failing_output


def test_the_platforms_secrets_do_not_reach_the_generated_tests(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("UAB_SECRET_KEY", "platform-secret")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "cloud-secret")
    body = (
        "import os\n\n\ndef test_env() -> None:\n"
        "    leaked = [k for k in os.environ if k.startswith(('UAB_', 'AWS_'))]\n"
        "    assert leaked == []\n"
    )
    result = verify_tree(tree(body), checks=("tests",))
    assert result.passed, result.failing_output


def test_generated_tests_have_loopback_but_no_network() -> None:
    assert network_isolation_prefix(), "this machine can isolate; CI must exercise it"
    body = (
        "import socket\n\nimport pytest\n\n\ndef test_network() -> None:\n"
        "    server = socket.create_server(('127.0.0.1', 0))\n"
        "    socket.create_connection(server.getsockname(), timeout=2).close()\n"
        "    with pytest.raises(OSError):\n"
        "        socket.create_connection(('1.1.1.1', 53), timeout=2)\n"
    )
    result = verify_tree(tree(body), checks=("tests",))
    assert result.network_isolated
    assert result.passed, result.failing_output


def test_a_run_past_its_deadline_is_killed_and_fails() -> None:
    body = "import time\n\n\ndef test_slow() -> None:\n    time.sleep(60)\n"
    result = verify_tree(tree(body), timeout=4)
    assert not result.passed
    assert "timed out" in result.failing_output
    assert result.duration_ms < 30_000


def test_cancelling_stops_the_subprocess() -> None:
    cancel = threading.Event()
    threading.Timer(1.0, cancel.set).start()
    body = "import time\n\n\ndef test_slow() -> None:\n    time.sleep(60)\n"
    result = verify_tree(tree(body), cancel=cancel)
    assert not result.passed
    assert "cancelled" in result.failing_output


def test_a_runaway_test_hits_the_memory_limit() -> None:
    body = "def test_hog() -> None:\n    hog = bytearray(8 * 2**30)\n    assert hog\n"
    result = verify_tree(tree(body), checks=("tests",))
    assert not result.passed
    assert "MemoryError" in result.failing_output


def test_the_security_lint_refuses_dangerous_calls_in_a_models_code() -> None:
    custom = (
        '"""Made by a model."""\n\nimport hashlib\n\n\n'
        "def digest(data: bytes) -> str:\n    return hashlib.md5(data).hexdigest()\n"
    )
    custom_test = (
        "def test_digest() -> None:\n"
        '    password = "made-up"\n'  # made-up secrets and asserts are fine in tests
        "    assert password\n"
    )
    files = {
        **tree("def test_x() -> None:\n    pass\n"),
        "app/custom/__init__.py": b"",
        "app/custom/digest.py": custom.encode(),
        "tests/custom/__init__.py": b"",
        "tests/custom/test_digest.py": custom_test.encode(),
    }
    result = verify_tree(files, checks=("compile", "lint", "security"))
    assert [(c.name, c.passed) for c in result.checks][-1] == ("security", False)
    assert "S324" in result.failing_output
    assert "app/custom/digest.py" in result.failing_output
    assert "tests/custom" not in result.failing_output
    # an app without a model's code has no such check
    plain = verify_tree(tree("def test_x() -> None:\n    pass\n"), checks=("compile", "security"))
    assert [c.name for c in plain.checks] == ["compile"]
