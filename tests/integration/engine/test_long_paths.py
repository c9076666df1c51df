"""Paths longer than iRODS allows (MAX_NAME_LEN, 1088 bytes) fail with a reason; the pass goes on."""

from pathlib import Path

from tests.engine_fixtures import Ingest, write_tree


def test_a_logical_path_over_1088_bytes_fails_with_a_reason_and_the_rest_is_registered(
    ingest: Ingest, tmp_path: Path
) -> None:
    deep = "/".join(c * 200 for c in "abcd")
    long_name = "f" * 250 + ".txt"
    assert len(f"{ingest.target}/{deep}/{long_name}".encode()) > 1088
    src = write_tree(tmp_path / "src", {f"{deep}/{long_name}": "too long", f"{deep}/ok.txt": "fits"})
    result = ingest.rescan(src)
    assert result.code == 1, result.out + result.err
    assert "FAILED" in result.out and long_name in result.out
    assert "1088" in result.out or "too long" in result.out.lower(), result.out
    assert set(ingest.objects()) == {f"{ingest.target}/{deep}/ok.txt"}
