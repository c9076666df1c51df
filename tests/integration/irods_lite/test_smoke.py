"""The shortest round trip through irods-lite: collection, put, get, listing."""

from irods.session import iRODSSession


def test_put_then_get_returns_the_same_bytes(session: iRODSSession, coll: str, tmp_path) -> None:
    src = tmp_path / "x.txt"
    src.write_bytes(b"hello\n")
    session.data_objects.put(str(src), f"{coll}/x.txt")
    obj = session.data_objects.get(f"{coll}/x.txt")
    with obj.open("r") as fh:
        assert fh.read() == b"hello\n"
    assert obj.size == 6
    assert [o.name for o in session.collections.get(coll).data_objects] == ["x.txt"]
