"""`manage.py check --deploy` passes for an HTTPS deployment's settings."""
import os
import subprocess
import sys

from tests.stack import REPO


def test_check_deploy_is_clean(tmp_path):
    env = dict(os.environ, MOORAGE_HTTPS="1", DEBUG="0", ALLOWED_HOSTS="console.example.com",
               MOORAGE_VAR=str(tmp_path), DJANGO_SETTINGS_MODULE="console.settings")
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level",
                             "WARNING"], cwd=REPO, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
