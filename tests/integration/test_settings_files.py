"""Settings that touch the disk: the development secret key and the .env file."""

from __future__ import annotations

import stat
import threading
from pathlib import Path

import pytest

from appbuilder.settings import SECRET_KEY_FILE, Settings, _load_or_create_secret_key, get_settings


def test_development_secret_key_is_generated_once_and_private(isolated_environment: Path) -> None:
    key = get_settings().secret_key_value()
    path = isolated_environment / SECRET_KEY_FILE
    assert path.read_text().strip() == key
    assert len(key) >= 48
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    _load_or_create_secret_key.cache_clear()
    assert Settings().secret_key_value() == key


def test_concurrent_first_starts_agree_on_one_key(tmp_path: Path) -> None:
    results: list[str] = []
    data_dir = tmp_path / "race"

    def start() -> None:
        results.append(_load_or_create_secret_key.__wrapped__(data_dir))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(results)) == 1
    assert [p.name for p in data_dir.iterdir()] == [SECRET_KEY_FILE]


def test_dotenv_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("UAB_ENV")
    (tmp_path / ".env").write_text(
        "UAB_ENV=production\nUAB_SECRET_KEY=" + "kZ3x9-Qw7Lp2Rt8Vb4Nm6Yc1Hd5Jf0Gs" + "\n"
    )
    settings = get_settings()
    assert settings.env.value == "production"
