"""The S3 source (S3Source): `s3://bucket/prefix`, listed with ListObjectsV2, read with ranged GETs (boto3).

A common prefix is a directory of the source: the root is `/bucket/prefix` and an object `prefix/a/b` is
the entry `/bucket/prefix/a/b` (key segments map to path elements by sources.s3_keys). Listing one
directory is one ListObjectsV2 with the delimiter `/`: its objects are entries (size, LastModified as
mtime and ctime, ETag), its common prefixes are subdirectories, and a zero-byte object named like the
prefix itself (a console's "folder") is neither.

A directory with more than one page of children is split by key ranges, so that the pool lists it in
parallel: the task that lists its first page hands the rest on as ranges (StartAfter, upper bound] of
the same directory (DirectoryListing.continuations), cut at points estimated from the names of that
page (where its first and last names start to differ, the next few values of that character), keeps
listing the first range itself, and hands on whatever it has not reached within a few pages. Each range
is compared with the catalog on its own: its listing's `bounds` say which catalog names it answers for.

Reads: a stream over one object pins the ETag the HeadObject saw (If-Match on every GET), so an object
rewritten meanwhile fails the read instead of mixing two versions, and checks the bytes it delivers
against that ETag (sources.etag). Parallel uploads read aligned part ranges through `reopened` streams.
Credentials come from the key pair file named in the settings or from boto3's standard chain.
"""

from __future__ import annotations

import io
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any
from urllib.parse import unquote, unquote_to_bytes, urlsplit

from lz_ingest.errors import ConfigError, SourceError
from lz_ingest.model import Entry, EntryKind
from lz_ingest.sources import etag as etags
from lz_ingest.sources import s3_keys as keys
from lz_ingest.sources.base import Bounds, DirectoryListing, DirectoryRef, Problem, SourceStream
from lz_ingest.sources.digest import stream_checksum
from lz_ingest.sources.filters import ScanOptions, excluded_by_file_name, excluded_by_kind
from lz_ingest.sources.s3_settings import S3Settings

PAGE = 1000  # names per ListObjectsV2 call (S3's maximum)
PAGES_PER_TASK = 4  # pages one task lists of a range before handing the rest on
SPLIT_INTO = 4  # extra ranges a task cuts the rest of a directory into after its first page
READ_BLOCK = 1024 * 1024  # bytes read from a GET body at a time
RANGE_KIND = "range"
_HEADS_KEPT = 4096  # HeadObject answers kept from stat() for the open() that follows


LISTED = "lz_listed"  # marks a kept HeadObject-like answer made from the listing


class S3Bounds(Bounds):
    """Bounds in key order: a path element compares as the key segment it names (a collection as `name/`)."""

    def order(self, name: str, collection: bool) -> str:
        raw = unquote(name[1:], errors="replace") if name.startswith(keys.ESCAPE) else name
        return raw + "/" if collection else raw


@dataclass(frozen=True)
class _Item:
    """One name of a listing page: an object (with its listing data) or a common prefix (name ends with /)."""

    name: str
    size: int = 0
    mtime: float = 0.0
    etag: str = ""

    @property
    def is_prefix(self) -> bool:
        return self.name.endswith("/")


@dataclass
class _Page:
    items: list[_Item]
    truncated: bool
    problems: list[Problem]


class S3Source:
    """A bucket prefix; one per worker process (its boto3 client is shared by the process's threads)."""

    def __init__(self, bucket: str, prefix: str, settings: S3Settings) -> None:
        self.bucket, self.prefix, self.settings = bucket, prefix, settings
        self._client: Any = None
        self._lock = threading.Lock()
        self._heads: dict[str, dict[str, Any]] = {}

    # ---- identity ------------------------------------------------------------------------------

    @classmethod
    def from_uri(cls, uri: str) -> S3Source:
        """`s3://bucket/prefix?setting=value&...` (the settings as S3Settings.query writes them)."""
        parts = urlsplit(uri)
        bucket = parts.netloc
        if not bucket:
            raise ConfigError(f"source {uri}: no bucket (expected s3://bucket/prefix)")
        prefix = unquote(parts.path).strip("/")
        bad = [segment for segment in prefix.split("/") if prefix and not keys.is_plain(segment)]
        if bad:
            raise ConfigError(f"source {uri}: the prefix has a segment {keys.shown(bad[0])!r} that cannot be a path")
        return cls(bucket, prefix, S3Settings.from_query(parts.query, uri))

    @classmethod
    def uri_for(cls, bucket_and_prefix: str, settings: S3Settings) -> str:
        """The URI a job records for `bucket/prefix` (or `/bucket/prefix`, the old form) and its settings."""
        path = bucket_and_prefix.removeprefix("s3://").strip("/")
        query = settings.query()
        return f"s3://{path}" + (f"?{query}" if query else "")

    @property
    def uri(self) -> str:
        return self.uri_for(f"{self.bucket}/{self.prefix}", self.settings)

    @property
    def root(self) -> str:
        return f"/{self.bucket}/{self.prefix}" if self.prefix else f"/{self.bucket}"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    # ---- keys and paths ------------------------------------------------------------------------

    def key(self, path: str) -> str:
        """The key an entry path names."""
        if path == self.root:
            return self.prefix
        if not path.startswith(self.root + "/"):
            raise SourceError(f"{path}: not under the source root {self.root}")
        try:
            rest = keys.key_rest(path[len(self.root) + 1 :].split("/"))
        except UnicodeDecodeError:
            raise SourceError(f"{path}: not a path this source makes") from None
        return f"{self.prefix}/{rest}" if self.prefix else rest

    def _dir_prefix(self, path: str) -> str:
        key = self.key(path)
        return key + "/" if key or path != self.root else ""

    def _child(self, directory: str, name: str) -> str:
        return f"{directory}/{keys.element(name.removesuffix('/'))}"

    # ---- the client ----------------------------------------------------------------------------

    @property
    def client(self) -> Any:  # a boto3 S3 client: botocore's types are generated at run time
        with self._lock:
            if self._client is None:
                self._client = _make_client(self.settings)
            return self._client

    def _call(self, what: str, action: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, action)(Bucket=self.bucket, **kwargs)
        except Exception as exc:
            raise SourceError(f"{what}: {failure(exc, self.bucket, self.settings)}") from None

    # ---- the Source protocol -------------------------------------------------------------------

    def root_problem(self) -> str | None:
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except Exception as exc:
            return failure(exc, self.bucket, self.settings)
        return None

    def root_has_entries(self) -> bool:
        prefix = self._dir_prefix(self.root)
        answer = self._call(self.describe(), "list_objects_v2", Prefix=prefix, MaxKeys=1)
        return bool(answer.get("KeyCount", 0))

    def list(self, path: str, options: ScanOptions, ancestry: Any = None) -> DirectoryListing:
        after, upto = _range(ancestry)
        try:
            prefix = self._dir_prefix(path)
        except SourceError as exc:
            return DirectoryListing(path, (), (), (), (Problem(path, str(exc)),))
        return _Lister(self, path, prefix, options, after, upto).run()

    def stat(self, path: str, follow_symlinks: bool) -> Entry | None:
        head = self._head(path)
        if head is None:
            return None
        self._keep(path, head)
        modified = _time(head)
        return Entry(
            path, EntryKind.REGULAR, head["ContentLength"], modified, modified, None, etags.clean(head["ETag"])
        )

    def _head(self, path: str, part: int | None = None) -> dict[str, Any] | None:
        key = self.key(path)
        extra = {"PartNumber": part} if part else {}
        try:
            answer: dict[str, Any] = self.client.head_object(Bucket=self.bucket, Key=key, **extra)
        except Exception as exc:
            if _status(exc) == 404:
                return None
            raise SourceError(
                f"s3://{self.bucket}/{keys.shown(key)}: {failure(exc, self.bucket, self.settings)}"
            ) from None
        return answer

    def restat(self, entry: Entry, follow_symlinks: bool) -> Entry | None:
        """The entry as listed (seconds old; an object appears whole), kept for the open() that may follow, which
        then needs no HeadObject: its first GET pins the listed version."""
        if entry.etag:
            self._keep(entry.path, {"ContentLength": entry.size, "ETag": entry.etag, LISTED: True})
        return entry

    def _keep(self, path: str, head: dict[str, Any]) -> None:
        with self._lock:
            if len(self._heads) >= _HEADS_KEPT:
                self._heads.clear()
            self._heads[path] = head

    def is_settled(self, entry: Entry, now: float, settle_seconds: float) -> bool:
        return True  # an object appears whole, when its PUT or multipart upload completes

    def check_readable(self, entry: Entry) -> Problem | None:
        return None  # stat's HeadObject read its metadata just before

    def physical_path(self, path: str) -> str:
        """`/bucket/key`, as an iRODS S3 resource names the object; refused for a key it would not keep as is."""
        key = self.key(path)
        if key and not all(keys.is_plain(part) for part in key.split("/")):
            raise SourceError(
                f"s3://{self.bucket}/{keys.shown(key)}: a key with an empty, '.' or '..' segment, a segment starting "
                "with '%' or a control character is not registered in place (the server may normalize the path); "
                "ingest it with a PUT-type operation"
            )
        return f"/{self.bucket}/{key}" if key else f"/{self.bucket}"

    def as_uploaded(self, entry: Entry) -> Entry:
        return entry

    def open(self, path: str) -> SourceStream:
        """A stream over the object; from a listed entry its first GET starts at once (If-Match the listed ETag),
        and an object rewritten since it was listed is opened as it is now (nothing has been read yet)."""
        with self._lock:
            head = self._heads.pop(path, None)
        if head is not None and head.get(LISTED) and head["ContentLength"] > 0:
            stream = self._open_listed(path, head)
            if stream is not None:
                return stream
            head = None
        head = (None if head is None or head.get(LISTED) else head) or self._head(path)
        if head is None:
            raise SourceError(f"{self.describe()}: {keys.shown(self.key(path))}: no such object")
        return S3Stream(
            self, self.key(path), head["ContentLength"], etags.clean(head["ETag"]), self._verifier(path, head)
        )

    def _open_listed(self, path: str, listed: dict[str, Any]) -> S3Stream | None:
        """The stream with its first GET open; None when the object changed since it was listed."""
        key, tag = self.key(path), str(listed["ETag"])
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=key, Range="bytes=0-", IfMatch=f'"{tag}"')
        except Exception as exc:
            if _status(exc) in (412, 404):
                return None  # rewritten (or gone): a HeadObject says what is there now
            raise SourceError(
                f"s3://{self.bucket}/{keys.shown(key)}: {failure(exc, self.bucket, self.settings)}"
            ) from None
        size = _total_size(answer, int(listed["ContentLength"]))
        head = {**answer, "ContentLength": size, "ETag": tag}
        stream = S3Stream(self, key, size, tag, self._verifier(path, head))
        stream.attach(answer["Body"])
        return stream

    def _verifier(self, path: str, head: dict[str, Any]) -> etags.Verifier | None:
        tag, size, first, count = etags.clean(head["ETag"]), head["ContentLength"], None, None
        if "-" in tag:
            part = self._head(path, part=1) or {}
            first, count = part.get("ContentLength"), part.get("PartsCount")
        layout, _why = etags.layout(
            tag,
            size,
            parts_count=count,
            first_part_size=first,
            fallback_part_size=self.settings.multipart_chunk_mib * 1024 * 1024,
            encryption=head.get("ServerSideEncryption"),
            customer_key=bool(head.get("SSECustomerAlgorithm")),
        )
        return etags.Verifier(layout, f"s3://{self.bucket}/{keys.shown(self.key(path))}") if layout else None

    def read_range(self, path: str, offset: int, length: int) -> bytes:
        if length <= 0:
            return b""
        what = f"s3://{self.bucket}/{keys.shown(self.key(path))}"
        answer = self._call(what, "get_object", Key=self.key(path), Range=f"bytes={offset}-{offset + length - 1}")
        return bytes(answer["Body"].read())

    def checksum(self, path: str) -> str:
        with self.open(path) as stream:
            return stream_checksum(stream, f"s3://{self.bucket}/{keys.shown(self.key(path))}")


def _range(ancestry: Any) -> tuple[str | None, str | None]:
    """(after, upto) of a continuation's ancestry slot (a tuple, or a list after a JSON round trip)."""
    if ancestry and len(ancestry) == 3 and ancestry[0] == RANGE_KIND:
        return ancestry[1], ancestry[2]
    return None, None


@dataclass
class _Lister:
    """Lists one directory, or one range of it, as the module docstring says."""

    source: S3Source
    path: str
    prefix: str
    options: ScanOptions
    after: str | None
    upto: str | None
    entries: list[Entry] = field(default_factory=list)
    subdirectories: list[DirectoryRef] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    continuations: list[DirectoryRef] = field(default_factory=list)

    def run(self) -> DirectoryListing:
        cursor, upto, whole = self.after, self.upto, self.options.whole_directories
        split = not whole
        pages, done = 0, False
        try:
            while not done and (whole or pages < PAGES_PER_TASK):
                page = self._page(cursor)
                pages += 1
                inside = [item for item in page.items if (cursor is None or item.name > cursor)]
                beyond = upto is not None and any(item.name > upto for item in inside)
                inside = [item for item in inside if upto is None or item.name <= upto]
                self.problems.extend(page.problems)
                for item in inside:
                    self._take(item)
                done = beyond or not page.truncated or not page.items
                if not done:
                    cursor = page.items[-1].name
                    if split:
                        upto = self._split(inside or page.items, upto)
                        split = False
        except SourceError as exc:
            self.problems.append(Problem(self.path, str(exc).removeprefix(f"{self.path}: ")))
            return self._listing(None)
        if not done:
            self._hand_on(cursor, upto)
        covered = upto if done else cursor
        bounds = None if self.after is None and covered is None else S3Bounds(self.after, covered)
        return self._listing(bounds)

    def _page(self, cursor: str | None) -> _Page:
        start = {"StartAfter": self.prefix + cursor} if cursor is not None else {}
        answer = self.source._call(
            f"{self.path}",
            "list_objects_v2",
            Prefix=self.prefix,
            Delimiter="/",
            EncodingType="url",
            MaxKeys=PAGE,
            **start,
        )
        items, problems = [], []
        for raw in answer.get("Contents", ()):
            try:
                name = self._name(raw["Key"])
            except SourceError as exc:
                problems.append(Problem(self._problem_path(raw["Key"]), str(exc)))
                continue
            items.append(_Item(name, raw["Size"], raw["LastModified"].timestamp(), etags.clean(raw.get("ETag", ""))))
        for raw in answer.get("CommonPrefixes", ()):
            try:
                items.append(_Item(self._name(raw["Prefix"])))
            except SourceError as exc:
                problems.append(Problem(self._problem_path(raw["Prefix"]), str(exc)))
        items.sort(key=lambda item: item.name)
        return _Page(items, bool(answer.get("IsTruncated")), problems)

    def _name(self, encoded: str) -> str:
        """A listed key (URL-encoded) relative to the listed prefix."""
        key = keys.key_from_bytes(unquote_to_bytes(encoded), f"s3://{self.source.bucket}")
        return key[len(self.prefix) :]

    def _problem_path(self, encoded: str) -> str:
        shown = unquote_to_bytes(encoded).decode("utf-8", "backslashreplace")[len(self.prefix) :]
        return self.source._child(self.path, shown.split("/", 1)[0])

    def _take(self, item: _Item) -> None:
        if not item.name and not item.size:
            return  # the directory's own "folder" object
        path = self.source._child(self.path, item.name)
        kind = EntryKind.DIRECTORY if item.is_prefix else EntryKind.REGULAR
        if excluded_by_file_name(path, self.options) or excluded_by_kind(path, kind, False, self.options):
            self.excluded.append(path)
        elif item.is_prefix:
            self.subdirectories.append(DirectoryRef(path, ()))
        else:
            self.entries.append(Entry(path, kind, item.size, item.mtime, item.mtime, None, item.etag))

    def _split(self, page: list[_Item], upto: str | None) -> str | None:
        """Hand the rest of the directory on as ranges cut at estimated points; returns this task's new bound."""
        points = split_points(page[0].name, page[-1].name, upto, SPLIT_INTO)
        if not points:
            return upto
        for low, high in zip(points, [*points[1:], upto], strict=True):
            self.continuations.append(DirectoryRef(self.path, (RANGE_KIND, low, high)))  # type: ignore[arg-type]
        return points[0]

    def _hand_on(self, cursor: str | None, upto: str | None) -> None:
        self.continuations.append(DirectoryRef(self.path, (RANGE_KIND, cursor, upto)))  # type: ignore[arg-type]

    def _listing(self, bounds: Bounds | None) -> DirectoryListing:
        return DirectoryListing(
            self.path,
            tuple(self.entries),
            tuple(self.subdirectories),
            tuple(self.excluded),
            tuple(self.problems),
            continuations=tuple(self.continuations),
            bounds=bounds,
        )


def split_points(first: str, last: str, upto: str | None, count: int) -> list[str]:
    """Up to `count` names after `last` (and before `upto`) cutting the rest of a key space into ranges about
    as wide as the page that ran from `first` to `last`: at the character before the one where the two start
    to differ, its next values. No point is or contains `/` (a common prefix never straddles two ranges)."""
    common = 0
    while common < min(len(first), len(last)) and first[common] == last[common]:
        common += 1
    at = min(max(common - 1, 0), len(last) - 1)
    if at < 0:
        return []
    base, code = last[:at], ord(last[at])
    points: list[str] = []
    while len(points) < count:
        code += 1
        if code > 0x10FFFF:
            break
        if 0xD800 <= code <= 0xDFFF or code == ord("/"):
            continue
        point = base + chr(code)
        if upto is not None and point >= upto:
            break
        points.append(point)
    return points


class S3Stream:
    """One object's bytes as a seekable stream: reads continue one GET (If-Match its ETag) from the position,
    a seek elsewhere starts another. It has no file descriptor."""

    def __init__(self, source: S3Source, key: str, size: int, tag: str, verifier: etags.Verifier | None) -> None:
        self.source, self.key, self.size, self.etag, self.verifier = source, key, size, tag, verifier
        self.name = f"s3://{source.bucket}/{keys.shown(key)}"
        self._pos = 0
        self._body: Any = None
        self._body_pos = -1
        self._hasher = etags.PartHasher(verifier) if verifier else None

    # ---- what a parallel upload asks -----------------------------------------------------------

    def reopened(self) -> S3Stream:
        """Another stream over the same object version, read independently, checked with the same verifier."""
        return S3Stream(self.source, self.key, self.size, self.etag, self.verifier)

    def parallel_ranges(self, count: int) -> list[tuple[int, int]] | None:
        """Byte ranges for `count` readers, whole parts each; None when it should be read in one go (a single-part
        object whose MD5 is checked needs its bytes in order)."""
        layout = self.verifier.layout if self.verifier else None
        if layout is not None and layout.parts <= 1:
            return None
        part = layout.part_size if layout else max(1, -(-self.size // count))
        parts = -(-self.size // part)
        per = -(-parts // count)
        return [
            (i * per * part, min(self.size, (i + 1) * per * part)) for i in range(count) if i * per * part < self.size
        ]

    @property
    def verifies_itself(self) -> bool:
        """Whether reading the whole stream checks its bytes (against the ETag)."""
        return self.verifier is not None

    # ---- the SourceStream protocol -------------------------------------------------------------

    def read(self, size: int = -1, /) -> bytes:
        left = self.size - self._pos
        want = left if size < 0 else min(size, left)
        if want <= 0:
            if self._hasher is not None and self.size == 0:
                self._hasher.feed(0, b"")
            return b""
        data = self._read_body(want)
        if self._hasher is not None:
            self._hasher.feed(self._pos, data)
        self._pos += len(data)
        self._body_pos = self._pos
        return data

    def _read_body(self, want: int) -> bytes:
        if self._body is None or self._body_pos != self._pos:
            self._open_body()
        parts, missing = [], want
        try:
            while missing > 0:
                block = self._body.read(min(missing, READ_BLOCK))
                if not block:
                    break
                parts.append(block)
                missing -= len(block)
        except Exception as exc:
            self._drop_body()
            raise SourceError(f"{self.name}: read failed: {exc}") from None
        if missing:
            self._drop_body()
            raise SourceError(f"{self.name}: object ended {missing} bytes early (changed while being read?)")
        return b"".join(parts)

    def _open_body(self) -> None:
        self._drop_body()
        try:
            answer = self.source.client.get_object(
                Bucket=self.source.bucket, Key=self.key, Range=f"bytes={self._pos}-", IfMatch=f'"{self.etag}"'
            )
        except Exception as exc:
            if _status(exc) == 412:
                raise SourceError(f"{self.name}: the object changed since it was listed") from None
            raise SourceError(f"{self.name}: {failure(exc, self.source.bucket, self.source.settings)}") from None
        self._body, self._body_pos = answer["Body"], self._pos

    def attach(self, body: Any) -> None:
        """A GET from the first byte, already open."""
        self._drop_body()
        self._body, self._body_pos, self._pos = body, 0, 0

    def _drop_body(self) -> None:
        if self._body is not None:
            try:
                self._body.close()
            except Exception:  # nothing to save: the body is discarded either way
                pass
        self._body, self._body_pos = None, -1

    def seek(self, offset: int, whence: int = 0, /) -> int:
        base = {0: 0, 1: self._pos, 2: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def fileno(self) -> int:
        raise io.UnsupportedOperation("an S3 object has no file descriptor")

    def close(self) -> None:
        self._drop_body()

    def __enter__(self) -> S3Stream:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None, /
    ) -> None:
        self.close()


# ---- clients and errors ---------------------------------------------------------------------------


def _make_client(settings: S3Settings) -> Any:
    try:
        import boto3
        from botocore.config import Config
    except ImportError:
        raise ConfigError("S3 sources need boto3: pip install 'lz-ingest[s3]'") from None
    credentials = settings.credentials()
    session = boto3.session.Session(
        aws_access_key_id=credentials[0] if credentials else None,
        aws_secret_access_key=credentials[1] if credentials else None,
    )
    proxies = {"http": settings.proxy_url, "https": settings.proxy_url} if settings.proxy_url else None
    config = Config(
        s3={"addressing_style": settings.addressing},
        proxies=proxies,
        retries={"max_attempts": 5, "mode": "standard"},
        max_pool_connections=64,
        connect_timeout=10,
        read_timeout=60,
    )
    region = settings.region or ("us-east-1" if settings.endpoint_url else None)
    return session.client(
        "s3", endpoint_url=settings.endpoint_url, region_name=region, verify=settings.verify_tls, config=config
    )


def _status(exc: Exception) -> int | None:
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return int(status) if status else None
    return None


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


_CODES = {
    "NoSuchBucket": "no such bucket",
    "AccessDenied": "access denied",
    "AllAccessDisabled": "access denied",
    "InvalidAccessKeyId": "the access key is not known to the endpoint",
    "SignatureDoesNotMatch": "the secret key does not match the access key",
    "ExpiredToken": "the credentials have expired",
    "PermanentRedirect": "the bucket is in another region (set --s3_region_name)",
    "AuthorizationHeaderMalformed": "wrong region for this bucket (set --s3_region_name)",
}


def failure(exc: Exception, bucket: str, settings: S3Settings) -> str:
    """One line for an S3 failure, naming what to fix; never a credential."""
    name = type(exc).__name__
    if isinstance(exc, ConfigError):
        return str(exc)
    if name == "NoCredentialsError" or name == "PartialCredentialsError":
        return (
            "no S3 credentials: give --s3_keypair FILE, or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
            "(or a profile) in the environment of the command and of the workers"
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ProxyConnectionError"):
        return f"cannot reach the S3 endpoint {settings.endpoint_url or '(AWS default)'}"
    code, status = _code(exc), _status(exc)
    if code in _CODES:
        return f"bucket {bucket}: {_CODES[code]}"
    if status == 404:
        return f"bucket {bucket}: no such bucket" if code in ("", "404", "NoSuchBucket") else f"not found ({code})"
    if status == 403:
        return f"bucket {bucket}: access denied"
    if status == 301:
        return f"bucket {bucket}: {_CODES['PermanentRedirect']}"
    detail = str(exc).splitlines()[0] if str(exc) else name
    return f"S3 error: {detail}"


def _total_size(answer: dict[str, Any], fallback: int) -> int:
    """The object's size from a ranged GET's Content-Range (`bytes 0-99/100`)."""
    total = str(answer.get("ContentRange", "")).rpartition("/")[2]
    return int(total) if total.isdigit() else fallback


def _time(head: dict[str, Any]) -> float:
    modified = head.get("LastModified")
    return modified.timestamp() if modified is not None else time.time()
