"""File storage behind one small interface: a local folder (embedded default) or S3 (boto3).

The app uses them through `infra.storage_crypto.EncryptedStorage` (`build_storage`): every object
is encrypted at rest, except those already encrypted for their recipient (docs/security.md T3.20).
The backends here store bytes as given.

Keys are built only by `school_key`, from ids and random tokens: never from a PESEL, a name or
a user's file name (docs/security.md T2.13).
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
from typing import BinaryIO
from typing import Protocol

_SAFE_PART = re.compile(r"^[A-Za-z0-9_.-]+$")


class StorageError(Exception):
    """A file could not be read or written."""


class NotFound(StorageError):
    """No object under that key."""


class Storage(Protocol):
    def put(self, key: str, data: bytes, content_type: str, *, recipient_encrypted: bool = False) -> None:
        """Store `data`. `recipient_encrypted`: the data is already encrypted for whoever will
        fetch it through `presigned_get` (a `.7z` key, docs/security.md T3.20): stored as given."""
        ...

    def get(self, key: str) -> bytes: ...

    def put_file(self, key: str, source: BinaryIO, content_type: str, *, recipient_encrypted: bool = False) -> None:
        """Store what `source` reads to its end, in chunks: a large upload is never held in memory whole."""
        ...

    def get_file(self, key: str, target: BinaryIO) -> None:
        """Write the object into `target` in chunks (raises NotFound)."""
        ...

    def delete(self, key: str) -> None: ...

    def exists(self, key: str) -> bool: ...

    def purge(self, key: str) -> int:
        """Delete the object and every stored version of it; returns how many were removed."""
        ...

    def count_versions(self, key: str) -> int:
        """How many stored versions of the object `purge` would remove now (0 when none)."""
        ...

    def presigned_get(self, key: str, *, expires_in: int, filename: str) -> str | None:
        """A time-limited GET link to the object, or None when the storage cannot make one."""
        ...

    def keys_under(self, prefix: str = "") -> list[str]:
        """Every object's key starting with `prefix` (for maintenance: `flask legitka encrypt-storage`)."""
        ...

    def drop_old_versions(self, key: str) -> int:
        """Delete every stored version of `key` but the current one; returns how many."""
        ...


# S3 error codes meaning "come back later" (throttling, the service's own failure or timeout).
_PASSING_CODES = frozenset({"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "500", "503"})


def is_unavailable(error: BaseException) -> bool:
    """The storage could not be reached or asked us to come back later: a connection refused,
    reset or timed out, S3 throttling or a 5xx. The same call may well succeed a little later.
    A missing object, refused credentials or a refused request are lasting (False)."""
    try:
        from botocore import exceptions as boto
    except ImportError:  # no S3 client installed: only the local folder, whose errors are lasting
        return False
    seen: BaseException | None = error
    while seen is not None:  # StorageError wraps the S3 client's error
        if isinstance(seen, boto.ConnectionError | boto.HTTPClientError):
            return True
        if isinstance(seen, boto.ClientError):
            return str(seen.response.get("Error", {}).get("Code")) in _PASSING_CODES
        seen = seen.__cause__
    return False


_CHUNK = 1024 * 1024  # put_file / get_file copy this much at a time
MAX_LINK_SECONDS = 300  # docs/security.md T2.16: presigned links live at most five minutes


def school_key(school_id: int, *parts: str | int) -> str:
    """`schools/<id>/<part>/...`: with `city_key`, the only place object keys are made.

    Each part must be an id, a fixed word or a random token; anything else is refused so that
    personal data cannot slip into a key by accident.
    """
    return _key("schools", school_id, parts)


def city_key(city_id: int, *parts: str | int) -> str:
    """`cities/<id>/<part>/...` (the city's own files: council reports), parts as in `school_key`."""
    return _key("cities", city_id, parts)


def _key(prefix: str, owner_id: int, parts) -> str:
    cleaned = []
    for part in parts:
        text = str(part)
        if not _SAFE_PART.match(text) or text in {".", ".."}:
            raise ValueError("unsafe storage key part")
        cleaned.append(text)
    return "/".join([prefix, str(int(owner_id)), *cleaned])


class LocalStorage:
    """Files in a folder; for the embedded default and quick local runs."""

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = pathlib.Path(root)

    def _path(self, key: str) -> pathlib.Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("key escapes the storage root")
        return path

    def put(self, key: str, data: bytes, content_type: str, *, recipient_encrypted: bool = False) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)  # readers never see a half-written file

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise NotFound(key) from exc

    def put_file(self, key: str, source: BinaryIO, content_type: str, *, recipient_encrypted: bool = False) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        with tmp.open("wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)
        os.replace(tmp, path)

    def get_file(self, key: str, target: BinaryIO) -> None:
        try:
            with self._path(key).open("rb") as source:
                shutil.copyfileobj(source, target, _CHUNK)
        except FileNotFoundError as exc:
            raise NotFound(key) from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def purge(self, key: str) -> int:
        path = self._path(key)
        existed = path.is_file()
        path.unlink(missing_ok=True)
        return int(existed)

    def count_versions(self, key: str) -> int:
        return int(self._path(key).is_file())

    def presigned_get(self, key: str, *, expires_in: int, filename: str) -> str | None:
        return None  # a folder has no link of its own; the portal streams the file itself

    def keys_under(self, prefix: str = "") -> list[str]:
        found = (path.relative_to(self.root).as_posix() for path in self.root.rglob("*") if path.is_file())
        return sorted(key for key in found if key.startswith(prefix) and not key.endswith(".part"))

    def drop_old_versions(self, key: str) -> int:
        return 0  # a folder keeps one version


class S3Storage:
    """Objects in an S3 bucket through boto3; the client is created lazily, after any fork."""

    def __init__(self, bucket: str, *, endpoint_url: str | None = None, region: str = "eu-central-1",
                 access_key: str | None = None, secret_key: str | None = None) -> None:
        self.bucket = bucket
        self._client_args = {"endpoint_url": endpoint_url, "region_name": region,
                             "aws_access_key_id": access_key, "aws_secret_access_key": secret_key}
        self._client = None
        self._pid = None

    @property
    def client(self):
        if self._client is None or self._pid != os.getpid():
            import boto3

            self._client = boto3.client("s3", **{k: v for k, v in self._client_args.items() if v})
            self._pid = os.getpid()
        return self._client

    def put(self, key: str, data: bytes, content_type: str, *, recipient_encrypted: bool = False) -> None:
        self.client.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise NotFound(key) from exc
            raise StorageError("S3 read failed") from exc

    def put_file(self, key: str, source: BinaryIO, content_type: str, *, recipient_encrypted: bool = False) -> None:
        # boto3 sends a large file as a multipart upload, a part (8 MB) at a time.
        self.client.upload_fileobj(source, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def get_file(self, key: str, target: BinaryIO) -> None:
        from botocore.exceptions import ClientError

        try:
            self.client.download_fileobj(self.bucket, key, target)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise NotFound(key) from exc
            raise StorageError("S3 read failed") from exc

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=key)

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError:
            return False

    def purge(self, key: str) -> int:
        """Delete every version and delete marker of `key` (a versioned bucket keeps old versions
        after a plain delete); idempotent."""
        removed = 0
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if entry["Key"] != key:
                    continue  # the prefix also matches longer keys
                self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=entry["VersionId"])
                removed += "Size" in entry  # versions have a size, delete markers do not
        return removed

    def count_versions(self, key: str) -> int:
        """The versions (not delete markers) stored under exactly `key`, as `purge` counts them."""
        found = 0
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            found += sum(1 for entry in page.get("Versions", []) if entry["Key"] == key)
        return found

    def presigned_get(self, key: str, *, expires_in: int, filename: str) -> str | None:
        if not 0 < expires_in <= MAX_LINK_SECONDS:
            raise ValueError("presigned links live at most five minutes")
        if not _SAFE_PART.match(filename):
            raise ValueError("unsafe file name")
        return self.client.generate_presigned_url(
            "get_object", ExpiresIn=expires_in,
            Params={"Bucket": self.bucket, "Key": key,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"'})

    def keys_under(self, prefix: str = "") -> list[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        return [entry["Key"] for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
                for entry in page.get("Contents", [])]

    def drop_old_versions(self, key: str) -> int:
        """Delete the noncurrent versions of `key` (a versioned bucket keeps them after an overwrite)."""
        removed = 0
        paginator = self.client.get_paginator("list_object_versions")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=key):
            for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
                if entry["Key"] == key and not entry["IsLatest"]:
                    self.client.delete_object(Bucket=self.bucket, Key=key, VersionId=entry["VersionId"])
                    removed += "Size" in entry
        return removed

    def ensure_bucket(self, *, versioned: bool = False) -> None:
        """Create the bucket when missing (development and tests; production provisions it)."""
        from botocore.exceptions import ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            region = self._client_args["region_name"]
            kwargs = {}
            if region and region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
            self.client.create_bucket(Bucket=self.bucket, **kwargs)
        if versioned:
            self.client.put_bucket_versioning(Bucket=self.bucket, VersioningConfiguration={"Status": "Enabled"})


def build_storage(config) -> Storage:
    """The storage the configuration asks for: S3 when `S3_BUCKET` is set, else a local folder,
    behind the encryption of every object at rest (docs/security.md T3.20)."""
    from infra.storage_crypto import EncryptedStorage
    from infra.storage_crypto import keys_from_config

    return EncryptedStorage(_backend(config), keys_from_config(config))


def _backend(config):
    if config.get("S3_BUCKET"):
        storage = S3Storage(config["S3_BUCKET"], endpoint_url=config.get("S3_ENDPOINT_URL"),
                            region=config.get("S3_REGION", "eu-central-1"),
                            access_key=config.get("S3_ACCESS_KEY"), secret_key=config.get("S3_SECRET_KEY"))
        if config.get("S3_CREATE_BUCKET"):
            storage.ensure_bucket(versioned=bool(config.get("S3_VERSIONED")))
        return storage
    return LocalStorage(config["LOCAL_STORAGE_PATH"])
