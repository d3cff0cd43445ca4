"""Logs in object storage: ``s3://``, ``gs://`` and ``az://`` URLs read through fsspec file systems.

DuckDB's own httpfs/azure extensions cannot be downloaded at run time here, so each store is an
fsspec file system (``s3fs``, ``gcsfs``, ``adlfs``) registered with the DuckDB session
(``register_filesystems``). Credentials and endpoints come from where the store's SDK looks for
them (``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` for S3-compatible
stores such as MinIO, instance roles; ``GOOGLE_APPLICATION_CREDENTIALS``;
``AZURE_STORAGE_ACCOUNT_NAME`` with ``AZURE_STORAGE_ACCOUNT_KEY`` or ``AZURE_STORAGE_CONNECTION_STRING``):
they are never part of a URL mlwatch accepts, never stored with a run and never printed.
"""

from __future__ import annotations

import contextlib
import fnmatch
import glob
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

import duckdb
import fsspec

from mlwatch.errors import InputError

# URL scheme -> the fsspec protocol that serves it (az://container/path is adlfs's own form).
SCHEMES = {"s3": "s3", "s3a": "s3", "gs": "gs", "gcs": "gs", "az": "az", "abfs": "az", "abfss": "az"}
# Environment variables whose values are secrets: removed from any message a store's SDK gives us.
_SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_SAS_TOKEN",
    "AZURE_CLIENT_SECRET",
)
_CREDENTIAL_HINT = {
    "s3": "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY (or an instance role), and AWS_ENDPOINT_URL for an S3-compatible store",
    "gs": "GOOGLE_APPLICATION_CREDENTIALS (or the machine's service account)",
    "az": "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY or AZURE_STORAGE_CONNECTION_STRING",
}


@dataclass(frozen=True)
class ObjectPath:
    """One log object in a store: its URL, size and version tag (ETag or generation), as listed.

    Has the part of ``pathlib.Path`` that reading the logs uses (``name``, ``parent``, ``str``).
    """

    url: str
    size: int
    version: str

    @property
    def name(self) -> str:
        """The object's last path component (``2026-05.jsonl.gz``)."""
        return self.url.rstrip("/").rsplit("/", 1)[-1]

    @property
    def parent(self) -> str:
        """The prefix holding the object (``s3://bucket/logs``)."""
        return self.url.rsplit("/", 1)[0]

    @property
    def scheme(self) -> str:
        """The fsspec protocol serving the object (``s3``, ``gs``, ``az``)."""
        return SCHEMES[self.url.split("://", 1)[0].lower()]

    def open(self) -> IO[bytes]:
        """Open the object for reading bytes.

        Raises:
            InputError: the object cannot be opened (gone, denied, no credentials).
        """
        with store_errors(self.url, self.scheme):
            return filesystem(self.scheme).open(self.url, "rb")

    def fingerprint(self) -> str:
        """What a sign-off is bound to for this object: URL, size and version tag (content changes change it)."""
        return f"{self.url}\0{self.size}\0{self.version}"

    def __str__(self) -> str:
        return self.url


def is_remote(source: object) -> bool:
    """Whether ``source`` is an object-storage URL (``s3://``, ``gs://``, ``az://`` and their aliases)."""
    text = str(source)
    return "://" in text and text.split("://", 1)[0].lower() in SCHEMES


def find_objects(source: str) -> list[ObjectPath]:
    """List the objects a URL names: one object, every object under a prefix, or those matching a glob.

    Raises:
        InputError: a URL with credentials in it, nothing there, or the store refused the listing.
    """
    scheme, path = split_url(source)
    fs = filesystem(scheme)
    with store_errors(source, scheme):
        if glob.has_magic(path):
            found = fs.glob(path, detail=True)
        else:
            info = fs.info(path)
            found = {path: info} if info.get("type") == "file" else fs.find(path, detail=True)
    return sorted(
        (_object(source, name, info) for name, info in found.items() if info.get("type", "file") == "file"),
        key=lambda o: o.url,
    )


def split_url(source: str) -> tuple[str, str]:
    """The fsspec protocol and the ``bucket/key`` path of a store URL.

    Raises:
        InputError: the URL names no bucket or carries credentials (``user:secret@``).
    """
    scheme, _, rest = str(source).partition("://")
    bucket = rest.split("/", 1)[0]
    if "@" in bucket or ":" in bucket:
        raise InputError(
            f"{scheme}://…: credentials in a logs URL are not accepted (they would be stored with the run); "
            f"set {_CREDENTIAL_HINT[SCHEMES[scheme.lower()]]} instead",
            key="logs",
        )
    if not bucket:
        raise InputError(f"{source}: no bucket in the URL; write it as {scheme}://bucket/prefix/", path=str(source))
    return SCHEMES[scheme.lower()], rest.rstrip("/") if not glob.has_magic(rest) else rest


def filesystem(scheme: str) -> Any:
    """A fresh fsspec file system for ``scheme`` (no cached listing: a changed object is seen as changed).

    Credentials are left to the store's SDK, which reads them from the environment, its config files
    or the machine's role; only an S3 endpoint override is passed on explicitly.
    """
    options: dict[str, Any] = {"skip_instance_cache": True, "use_listings_cache": False}
    if scheme == "s3":
        endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        if endpoint:
            options["client_kwargs"] = {"endpoint_url": endpoint}
    return fsspec.filesystem(scheme, **options)


def register_filesystems(con: duckdb.DuckDBPyConnection, files: Iterable[object]) -> None:
    """Register with ``con`` the file system of every store among ``files`` (once per session)."""
    registered = set(con.list_filesystems())
    for scheme in sorted({f.scheme for f in files if isinstance(f, ObjectPath)}):
        fs = filesystem(scheme)
        if _fs_name(fs) not in registered:
            con.register_filesystem(fs)


def inside(url: str, prefixes: Iterable[str]) -> bool:
    """Whether ``url`` is one of ``prefixes`` or lies under one (compared by whole path components)."""
    text = url.rstrip("/")
    return any(text == p.rstrip("/") or text.startswith(p.rstrip("/") + "/") for p in prefixes)


def matches(url: str, pattern: str) -> bool:
    """Whether an object URL matches a glob URL (as listed by ``find_objects``)."""
    return fnmatch.fnmatchcase(url, pattern)


@contextlib.contextmanager
def store_errors(url: str, scheme: str) -> Iterator[None]:
    """Turn a store SDK's failure into a one-line InputError naming the URL and what to do.

    Any secret from the environment is removed from the SDK's words before they are shown.
    """
    try:
        yield
    except InputError:
        raise
    except Exception as exc:
        raise _translate(str(url), scheme, exc) from exc


def _translate(url: str, scheme: str, exc: Exception) -> InputError:
    words = _redact(_first_line(exc))
    name = type(exc).__name__
    if isinstance(exc, FileNotFoundError) or "NoSuchBucket" in words or "NoSuchKey" in words:
        return InputError(f"{url}: no such bucket, prefix or object ({words}); check the URL", path=url, key="logs")
    if name in (
        "NoCredentialsError",
        "PartialCredentialsError",
        "DefaultCredentialsError",
        "ClientAuthenticationError",
    ):
        return InputError(
            f"{url}: no credentials for the store ({name}); set {_CREDENTIAL_HINT[scheme]}", path=url, key="logs"
        )
    if isinstance(exc, PermissionError) or "AccessDenied" in words or "Forbidden" in words or "403" in words:
        return InputError(
            f"{url}: access denied by the store ({words}); ask its owner for read access to it, "
            f"or check {_CREDENTIAL_HINT[scheme]}",
            path=url,
            key="logs",
        )
    return InputError(f"{url}: cannot read from the store ({name}: {words})", path=url, key="logs")


def _object(source: str, name: str, info: dict[str, Any]) -> ObjectPath:
    scheme = str(source).split("://", 1)[0]
    version = info.get("generation") or info.get("ETag") or info.get("etag") or info.get("md5Hash") or ""
    return ObjectPath(f"{scheme}://{name}", int(info.get("size") or 0), str(version).strip('"'))


def _fs_name(fs: Any) -> str:
    protocol = fs.protocol
    return protocol if isinstance(protocol, str) else protocol[0]


def _redact(text: str) -> str:
    for variable in _SECRET_VARIABLES:
        secret = os.environ.get(variable)
        if secret and len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
