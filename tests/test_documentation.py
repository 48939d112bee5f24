"""Docs that fall behind the code fail here (issue 10): every environment variable the
settings read is in the README's table."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
READS = re.compile(r"""(?:os\.environ\.get|os\.getenv|env_bool|os\.environ\[)\(?\s*["']([A-Z][A-Z0-9_]+)["']""")


def _read_variables() -> set[str]:
    found: set[str] = set()
    for path in [ROOT / "municipium" / "settings.py", ROOT / "municipium" / "cli.py"]:
        found |= set(READS.findall(path.read_text(encoding="utf-8")))
    return found - {"DJANGO_SETTINGS_MODULE"}


def test_every_environment_variable_the_settings_read_is_documented_in_the_readme():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    variables = _read_variables()
    assert {"DATABASE_URL", "SECRET_KEY", "MAX_IMPORT_BYTES"} <= variables  # the pattern finds them
    missing = sorted(v for v in variables if f"`{v}`" not in readme)
    assert not missing, f"undocumented in README.md: {missing}"


def test_the_readme_links_the_architecture_the_changelog_and_the_licence():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for name in ("ARCHITECTURE.md", "CHANGELOG.md", "LICENSE"):
        assert f"({name})" in readme and (ROOT / name).is_file(), name
    assert "GNU AFFERO GENERAL PUBLIC LICENSE" in (ROOT / "LICENSE").read_text(encoding="utf-8")
