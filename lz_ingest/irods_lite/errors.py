"""iRODS error codes irods-lite answers with (values from the server's rodsErrorTable.h)."""

from __future__ import annotations

SYS_UNMATCHED_API_NUM = -12000
SYS_NO_API_PRIV = -13000
SYS_BAD_FILE_DESCRIPTOR = -23000
SYS_INVALID_FILE_PATH = -31000
SYS_INVALID_RESC_INPUT = -32000
SYS_PROXYUSER_NO_PRIV = -39000
SYS_COPY_ALREADY_IN_RESC = -46000
SYS_NOT_SUPPORTED = -66000
SYS_RESC_DOES_NOT_EXIST = -78000
PATH_REG_NOT_ALLOWED = -129000
SYS_INVALID_INPUT_PARAM = -130000
SYS_REPLICA_DOES_NOT_EXIST = -164000
SYS_NO_GOOD_REPLICA = -166000
SYS_REPLICA_INACCESSIBLE = -168000
SYS_NOT_ALLOWED = -169000
USER_PACKSTRUCT_INPUT_ERR = -308000
USER_FILE_DOES_NOT_EXIST = -310000
OVERWRITE_WITHOUT_FORCE_FLAG = -312000
USER_CHKSUM_MISMATCH = -314000
USER_INPUT_PATH_ERR = -317000
USER_INPUT_OPTION_ERR = -318000
USER_INVALID_USERNAME_FORMAT = -319000
USER_PATH_EXCEEDS_MAX = -346000
OBJ_PATH_DOES_NOT_EXIST = -358000
USER_FILE_SIZE_MISMATCH = -401000
USER_INCOMPATIBLE_PARAMS = -402000
CHECK_VERIFICATION_RESULTS = -407000
UNIX_FILE_OPEN_ERR = -510000
UNIX_FILE_TRUNCATE_ERR = -529000
CAT_NO_ROWS_FOUND = -808000
CATALOG_ALREADY_HAS_ITEM_BY_THAT_NAME = -809000
CAT_UNKNOWN_COLLECTION = -814000
CAT_INVALID_RESOURCE_TYPE = -810000
CAT_INVALID_ARGUMENT = -816000
CAT_UNKNOWN_FILE = -817000
CAT_NO_ACCESS_PERMISSION = -818000
CAT_SUCCESS_BUT_WITH_NO_INFO = -819000
CAT_INVALID_USER_TYPE = -820000
CAT_COLLECTION_NOT_EMPTY = -821000
CAT_INVALID_AUTHENTICATION = -826000
CAT_INVALID_USER = -827000
CAT_INVALID_RESOURCE = -831000
CAT_INVALID_ZONE = -828000
CAT_INVALID_GROUP = -829000
CAT_INSUFFICIENT_PRIVILEGE_LEVEL = -830000
CAT_INVALID_CLIENT_USER = -832000
CAT_NAME_EXISTS_AS_COLLECTION = -833000
CAT_NAME_EXISTS_AS_DATAOBJ = -834000
CAT_RESOURCE_NOT_EMPTY = -835000
CAT_INVALID_CHILD = -857000
CAT_INVALID_RESOURCE_NAME = -859000
CAT_UNKNOWN_SPECIFIC_QUERY = -853000
CAT_NO_CHECKSUM_FOR_REPLICA = -862000
PASSWORD_EXCEEDS_MAX_SIZE = -903000
HIERARCHY_ERROR = -1803000
INVALID_OPERATION = -1811000
DIRECT_CHILD_ACCESS = -1816000

MAX_NAME_LEN = 1088


class IrodsError(Exception):
    """An iRODS error status to send back to the client."""

    def __init__(self, code: int, message: str = "", body: bytes = b"", client_message: str = "") -> None:
        super().__init__(message or str(code))
        self.code = code
        self.message = message
        self.body = body  # a reply body some APIs send with an error (a JSON error object)
        self.client_message = client_message  # a message for the error stack, where the server sends one


def check_path_length(path: str, what: str = "path", code: int = USER_PACKSTRUCT_INPUT_ERR) -> None:
    """A path that does not fit, with its NUL, in MAX_NAME_LEN bytes.

    A real server refuses an objPath / collName (`str ...[MAX_NAME_LEN]` in rodsPackInstruct.h) while
    unpacking the request: packStruct.cpp unpackXmlString -> USER_PACKSTRUCT_INPUT_ERR, sent back by
    rsApiHandler.cpp before any handler runs. Callers checking other strings pass their own code.
    """
    if len(path.encode("utf-8", "surrogateescape")) >= MAX_NAME_LEN:
        raise IrodsError(code, f"{what} exceeds MAX_NAME_LEN ({MAX_NAME_LEN} bytes)")
