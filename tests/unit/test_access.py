"""A browser user can only start runs on the log folders the config allows."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlwatch.errors import InputError
from mlwatch.ingest.access import allowed_roots, resolve_allowed_logs
from mlwatch.ingest.files import find_log_files


@pytest.fixture
def base(tmp_path: Path) -> Path:
    (tmp_path / "logs" / "2026").mkdir(parents=True)
    (tmp_path / "logs" / "2026" / "a.jsonl").write_text("{}")
    (tmp_path / "secret").mkdir()
    (tmp_path / "secret" / "passwords.csv").write_text("x")
    (tmp_path / "logs" / "escape").symlink_to(tmp_path / "secret")
    return tmp_path


def test_allowed_folder_and_files_inside_it_are_accepted(base: Path) -> None:
    assert resolve_allowed_logs("logs", ("logs",), base) == (base / "logs").resolve()
    assert resolve_allowed_logs("logs/2026/a.jsonl", ("logs",), base) == (base / "logs/2026/a.jsonl").resolve()


@pytest.mark.parametrize(
    ("requested", "message"),
    [
        ("secret", "outside the log folders"),
        ("logs/../secret", "'..' is not allowed"),
        ("logs/escape", "outside the log folders"),  # a symlink out of the allowed folder
        ("logs/escape/passwords.csv", "outside the log folders"),
        ("/etc/passwd", "outside the log folders"),
        ("logs/*.jsonl", "patterns are not allowed"),
        ("logs/nope", "no such file or folder"),
        ("  ", "No logs path given"),
    ],
)
def test_paths_outside_the_allowed_folders_are_refused(base: Path, requested: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        resolve_allowed_logs(requested, ("logs",), base)


def test_files_found_through_links_must_lie_in_the_allowed_folders_for_the_browser(base: Path) -> None:
    (base / "logs" / "2026" / "zz.jsonl").symlink_to(base / "secret" / "passwords.csv")
    roots = allowed_roots(("logs",), base)
    with pytest.raises(InputError, match="zz.jsonl: links to a file outside the log folders") as info:
        find_log_files(base / "logs" / "2026", within=roots)
    assert info.value.key == "logs.allowed"
    # The command line follows the link: a shell user can read that file anyway.
    assert base / "logs" / "2026" / "zz.jsonl" in find_log_files(base / "logs" / "2026")


def test_links_that_stay_inside_the_allowed_folders_are_read_by_their_real_path(base: Path) -> None:
    (base / "logs" / "2026" / "b.jsonl").symlink_to(base / "logs" / "2026" / "a.jsonl")
    found = find_log_files(base / "logs", within=allowed_roots(("logs",), base))
    assert found == [(base / "logs" / "2026" / "a.jsonl").resolve()] * 2
