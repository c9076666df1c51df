"""Register files and describe each with AVUs taken from its name: <instrument>_<run>_<sample>.<ext>.

A name that does not follow the pattern is registered without them.
"""

import os
import re

from irods.meta import iRODSMeta
from irods_capability_automated_ingest.core import Core
from irods_capability_automated_ingest.utils import Operation

PATTERN = re.compile(r"^(?P<instrument>[A-Za-z0-9]+)_(?P<run>[A-Za-z0-9-]+)_(?P<sample>[A-Za-z0-9-]+)\.\w+$")


def name_avus(path):
    found = PATTERN.match(os.path.basename(path))
    return found.groupdict() if found else {}


class event_handler(Core):
    @staticmethod
    def operation(session, meta, **options):
        return Operation.REGISTER_SYNC

    @staticmethod
    def post_data_obj_create(hdlr_mod, logger, session, meta, *args, **options):
        obj = session.data_objects.get(meta["target"])
        for attribute, value in name_avus(meta["path"]).items():
            obj.metadata.add(attribute, value, "from_file_name")

    @staticmethod
    def post_data_obj_modify(hdlr_mod, logger, session, meta, *args, **options):
        obj = session.data_objects.get(meta["target"])
        for attribute, value in name_avus(meta["path"]).items():
            obj.metadata[attribute] = iRODSMeta(attribute, value, "from_file_name")
