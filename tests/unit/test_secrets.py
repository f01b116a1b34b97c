"""No secret in the repository's files, and production refuses to run on the development ones."""

import subprocess
from pathlib import Path

import pytest
from detect_secrets import SecretsCollection
from detect_secrets.settings import default_settings

from platform_resources.core.settings import get_token_key, get_webhook_secret

REPO = Path(__file__).resolve().parents[2]


def _tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True)
    return [str(REPO / name) for name in listed.stdout.splitlines() if (REPO / name).is_file()]


def test_no_tracked_file_holds_a_secret() -> None:
    files = _tracked_files()
    assert len(files) > 100
    found = SecretsCollection()
    with default_settings():  # every detector: keys, private keys, passwords, high-entropy strings
        for name in files:  # in this process: scan_files forks a pool, which can hang in a threaded worker
            found.scan_file(name)
    assert found.json() == {}, "secrets in tracked files (or mark a test fixture: pragma: allowlist secret)"


def test_the_detector_finds_a_committed_secret(tmp_path: Path) -> None:
    leaked = tmp_path / "settings.yaml"
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEYab"  # pragma: allowlist secret
    leaked.write_text(f'aws_secret_access_key: "{secret}"\n')
    found = SecretsCollection()
    with default_settings():
        found.scan_files(str(leaked))
    assert str(leaked) in found.json()


@pytest.mark.parametrize(
    ("read", "variable"),
    [
        (get_token_key, "MESHHOUSE_TOKEN_KEY"),
        (lambda: get_webhook_secret("stripe"), "MESHHOUSE_WEBHOOK_SECRET_STRIPE"),
    ],
)
def test_production_refuses_the_development_secrets(
    read, variable: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(variable, raising=False)
    assert read()  # embedded: the development default
    monkeypatch.setenv("MESHHOUSE_ENV", "production")
    with pytest.raises(RuntimeError, match=f"{variable} must be set in production mode"):
        read()
    monkeypatch.setenv(variable, "from-the-secret-store")
    assert read() == b"from-the-secret-store"
