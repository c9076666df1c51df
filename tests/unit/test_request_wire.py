"""The modDataObjMeta request lz-ingest writes itself must be the bytes python-irodsclient would send."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from irods.manager.data_object_manager import DataObjectManager

from lz_ingest.irods import api


class _Capture:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def send(self, message) -> None:  # type: ignore[no-untyped-def]
        self.sent.append(message.pack())

    def recv(self) -> None:
        return None


def prc_body(version: tuple[int, ...], info: dict[str, object], updates: dict[str, str]) -> bytes:
    capture = _Capture()

    @contextmanager
    def get_connection() -> Iterator[_Capture]:
        yield capture

    session = SimpleNamespace(server_version=version, pool=SimpleNamespace(get_connection=get_connection))
    DataObjectManager(session).modDataObjMeta(dict(info), dict(updates))
    packed = capture.sent[-1]
    header_len = int.from_bytes(packed[:4], "big")
    return packed[4 + header_len :]


CASES = [
    ((4, 3, 4), "/tempZone/home/rods/a.txt", 0, "demoResc", {"dataModify": "01700000000"}),
    ((4, 2, 12), "/z/a&b<c>'\"", 3, "root;leaf", {"dataSize": "12", "dataModify": "01700000001", "chksum": ""}),
    ((5, 0, 0), "/z/ü/日本", 1, "r", {"dataModify": "01700000000"}),
    ((4, 3, 4), "/z/every/replica", None, "", {"dataModify": "01700000000", "dataSize": "5"}),
    ((5, 0, 0), "/z/every/replica", None, "", {"dataModify": "0&<>"}),
]


@pytest.mark.parametrize("case", CASES, ids=range(len(CASES)))
def test_request_is_what_python_irodsclient_packs(case: tuple) -> None:  # type: ignore[type-arg]
    version, path, number, hierarchy, updates = case
    info: dict[str, object] = {"objPath": path}
    if number is not None:
        info.update(replNum=number, rescHier=hierarchy)
    assert api.pack_mod_data_obj_meta(path, number, hierarchy, updates, version) == prc_body(version, info, updates)


OPEN_CASES = [
    ("/tempZone/home/rods/a.txt", 577, -1, 0, {"destRescName": "demoResc"}),
    ("/z/a&b<c>'\"", 0, 0, 4, {}),
    ("/z/ü/日本", 2, -1, 0, {"destRescName": "r&1", "verifyChksum": "sha2:abc=", "forceFlag": ""}),
]


@pytest.mark.parametrize("case", OPEN_CASES, ids=range(len(OPEN_CASES)))
def test_open_request_is_what_python_irodsclient_packs(case: tuple) -> None:  # type: ignore[type-arg]
    from irods.message import FileOpenRequest, StringStringMap

    path, flags, data_size, threads, options = case
    prc = FileOpenRequest(
        objPath=path,
        createMode=0,
        openFlags=flags,
        offset=0,
        dataSize=data_size,
        numThreads=threads,
        oprType=0,
        KeyValPair_PI=StringStringMap(dict(options)),
    )
    assert api.pack_open(path, flags, data_size, threads, options) == prc.pack().encode()


@pytest.mark.parametrize("case", [(3, 400, {}), (12, 0, {"a": "b"}), (1, 8 << 20, {"x&": "<y>"})])
def test_opened_request_is_what_python_irodsclient_packs(case: tuple) -> None:  # type: ignore[type-arg]
    from irods.message import OpenedDataObjRequest, StringStringMap

    fd, length, options = case
    prc = OpenedDataObjRequest(
        l1descInx=fd,
        len=length,
        whence=0,
        oprType=0,
        offset=0,
        bytesWritten=0,
        KeyValPair_PI=StringStringMap(dict(options)),
    )
    assert api.pack_opened(fd, length, options) == prc.pack().encode()
