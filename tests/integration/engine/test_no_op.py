"""NO_OP: only the hooks fire; the old framework creates nothing for it, not even collections."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from tests.engine_fixtures import Ingest, write_tree

NO_OP_HANDLER = """
    import json

    from irods_capability_automated_ingest.core import Core
    from irods_capability_automated_ingest.utils import Operation

    LOG = {log!r}


    def record(event, meta):
        with open(LOG, "a") as f:
            f.write(json.dumps({{"event": event, "target": meta["target"]}}) + "\\n")


    class event_handler(Core):
        @staticmethod
        def operation(session, meta, **options):
            return Operation.NO_OP

        @staticmethod
        def pre_coll_create(hdlr_mod, logger, session, meta, *args, **options):
            record("pre_coll_create", meta)

        @staticmethod
        def post_coll_create(hdlr_mod, logger, session, meta, *args, **options):
            record("post_coll_create", meta)

        @staticmethod
        def post_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
            record("post_data_obj_create", meta)
"""


def test_no_op_creates_no_collection_and_fires_the_hooks(ingest: Ingest, tmp_path: Path) -> None:
    log = tmp_path / "hooks.jsonl"
    handler = tmp_path / "no_op.py"
    handler.write_text(textwrap.dedent(NO_OP_HANDLER.format(log=str(log))))
    src = write_tree(tmp_path / "src", {"top.txt": "t", "sub/deeper/f.txt": "f"})
    result = ingest.rescan(src, "--event_handler", str(handler))
    assert result.code == 0, result.out + result.err
    with ingest.session() as s:
        assert not s.collections.exists(ingest.target)
    events = {(e["event"], e["target"]) for e in map(json.loads, log.read_text().splitlines())}
    t = ingest.target
    assert {("pre_coll_create", c) for c in (t, f"{t}/sub", f"{t}/sub/deeper")} <= events
    assert {("post_coll_create", c) for c in (t, f"{t}/sub", f"{t}/sub/deeper")} <= events
    assert {("post_data_obj_create", f"{t}/top.txt"), ("post_data_obj_create", f"{t}/sub/deeper/f.txt")} <= events
