"""What a browser user may touch: only log folders that the config lists."""

from __future__ import annotations

import glob
from pathlib import Path

from mlwatch.errors import InputError
from mlwatch.ingest.remote import inside, is_remote, split_url


def resolve_allowed_logs(requested: str, allowed: tuple[str, ...], base: str | Path = ".") -> Path | str:
    """Return the real path of ``requested`` if it lies inside an allowed folder.

    Relative paths are taken from ``base``. ``..`` components, glob patterns and
    symlinks that lead outside every allowed folder are refused, so a browser
    user cannot make the server read arbitrary files. A store URL (``s3://bucket/prefix/``) is
    returned as it is when it lies under an allowed store prefix (whole path components compared).

    Raises:
        InputError: the path is refused or does not exist.
    """
    text = (requested or "").strip()
    if not text:
        raise InputError("No logs path given; choose one of the allowed folders")
    if is_remote(text):
        return _allowed_url(text, allowed)
    if ".." in Path(text).parts:
        raise InputError(f"{text}: '..' is not allowed in a logs path; use a folder inside {_listing(allowed)}")
    if glob.has_magic(text):
        raise InputError(
            f"{text}: patterns are not allowed from the browser; give a folder or file inside {_listing(allowed)}"
        )
    target = Path(base) / text
    if not target.exists():
        raise InputError(f"{text}: no such file or folder; use a folder inside {_listing(allowed)}")
    real = target.resolve()
    for allowed_root in allowed_roots(allowed, base):
        if real == allowed_root or real.is_relative_to(allowed_root):
            return real
    raise InputError(
        f"{text}: outside the log folders this dashboard may read ({_listing(allowed)}); "
        "an administrator can add a folder to [logs] allowed in the config"
    )


def allowed_roots(allowed: tuple[str, ...], base: str | Path = ".") -> tuple[Path | str, ...]:
    """The real paths of the allowed folders (relative ones taken from ``base``), and the allowed store
    prefixes as written: what every log file of a run started from the browser must lie in, links
    resolved (``find_log_files(within=...)``)."""
    return tuple(folder if is_remote(folder) else (Path(base) / folder).resolve() for folder in allowed)


def _allowed_url(url: str, allowed: tuple[str, ...]) -> str:
    split_url(url)  # refuses credentials in the URL
    _, _, path = url.partition("://")
    if ".." in path.split("/"):
        raise InputError(f"{url}: '..' is not allowed in a logs path; use a prefix inside {_listing(allowed)}")
    if glob.has_magic(path):
        raise InputError(
            f"{url}: patterns are not allowed from the browser; give a prefix or object inside {_listing(allowed)}"
        )
    if inside(url, [prefix for prefix in allowed if is_remote(prefix)]):
        return url
    raise InputError(
        f"{url}: outside the log prefixes this dashboard may read ({_listing(allowed)}); "
        "an administrator can add a prefix to [logs] allowed in the config",
        path=url,
        key="logs.allowed",
    )


def _listing(allowed: tuple[str, ...]) -> str:
    return ", ".join(allowed) if allowed else "none configured"
