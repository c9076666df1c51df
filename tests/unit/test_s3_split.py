"""Split points for listing a large S3 prefix in parallel, and which catalog names a key range answers for."""

from __future__ import annotations

from lz_ingest.sources.s3 import S3Bounds, split_points


def test_dense_sequential_names_split_into_ranges_as_wide_as_the_page() -> None:
    assert split_points("file000000", "file000999", None, 4) == ["file001", "file002", "file003", "file004"]


def test_points_stay_below_the_upper_bound_and_never_contain_a_slash() -> None:
    assert split_points("a0", "a9", "c", 4) == ["b"]
    points = split_points("x-", "x.", None, 3)  # '.' + 1 would be '/'
    assert points and all("/" not in p for p in points)


def test_points_lie_after_the_last_name() -> None:
    for first, last in (("a", "zz"), ("0001", "0999"), ("k", "k"), ("é1", "é9")):
        assert all(p > last for p in split_points(first, last, None, 4))


def test_bounds_compare_catalog_names_as_the_keys_they_name() -> None:
    bounds = S3Bounds("b", "m")
    assert bounds.holds("c", False) and bounds.holds("m", False)
    assert not bounds.holds("b", False) and not bounds.holds("n", False)
    assert bounds.holds("%..", False) is False  # '..' sorts before 'b'
    assert S3Bounds(None, "/").holds("%", True)  # the collection for an empty segment is the prefix '/'
    assert not S3Bounds(None, ".").holds("%", True)
    assert S3Bounds(None, "b").holds("a", True)  # collection 'a' is the prefix 'a/'
