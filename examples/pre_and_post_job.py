"""pre_job and post_job: record each pass's start and end in a journal file outside the landing zone.

Both run once per pass (periodic passes included), in whichever worker starts or ends the pass,
with the root's meta (root, target, job_name, config).
"""

import json
import time

from irods_capability_automated_ingest.core import Core

JOURNAL = "/var/log/lz-ingest/journal.jsonl"


def note(event, meta):
    line = {"event": event, "job": meta["job_name"], "root": meta["root"], "target": meta["target"]}
    with open(JOURNAL, "a") as journal:
        journal.write(json.dumps({**line, "time": time.time()}) + "\n")


class event_handler(Core):
    @staticmethod
    def pre_job(hdlr_mod, logger, meta):
        note("pre_job", meta)

    @staticmethod
    def post_job(hdlr_mod, logger, meta):
        note("post_job", meta)
