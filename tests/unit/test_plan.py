"""plan(), plan_delete() and check_compatible(): what a sync decides for one entry."""

from __future__ import annotations

import pytest

from lz_ingest.errors import ConfigError, LzIngestError
from lz_ingest.model import (
    Action,
    CatalogObject,
    DeleteMode,
    Entry,
    EntryKind,
    Operation,
    Replica,
    is_compatible,
)
from lz_ingest.plan import (
    COLL_CREATE,
    COLL_DELETE,
    COLL_MODIFY,
    COLLECTION,
    DATA_OBJ_CREATE,
    DATA_OBJ_DELETE,
    DATA_OBJ_MODIFY,
    CatalogState,
    check_compatible,
    plan,
    plan_delete,
    resource_matches,
)

PATH = "/landing/a/file.dat"
LOGICAL = "/tempZone/home/rods/a/file.dat"
RESC = "targetResc"
SIZE, MTIME = 100, 1_700_000_000

R, S, U, W, A, H, C, X = (
    Action.REGISTER,
    Action.SKIP,
    Action.UPLOAD,
    Action.OVERWRITE,  # W: (over)write
    Action.APPEND,
    Action.HOOKS_ONLY,
    Action.CONFLICT,
    Action.UPDATE,
)
RR = Action.REGISTER_REPLICA


def entry(size: int = SIZE, mtime: float = MTIME, kind: EntryKind = EntryKind.REGULAR, ctime: float = 0.0) -> Entry:
    return Entry(path=PATH, kind=kind, size=size, mtime=mtime, ctime=ctime)


def replica(
    hierarchy: str = f"{RESC};leaf1",
    size: int = SIZE,
    mtime: int = MTIME,
    number: int = 0,
    status: str = "1",
    physical_path: str = PATH,
) -> Replica:
    return Replica(number, hierarchy, physical_path, size, mtime, status)


def obj(*replicas: Replica) -> CatalogObject:
    return CatalogObject(LOGICAL, replicas or (replica(),))


# The catalog states a file entry (size SIZE, mtime MTIME) can meet, with to_resource=RESC.
STATES: dict[str, CatalogState] = {
    "none": None,
    "collection": COLLECTION,
    "unchanged": obj(),
    "rewritten_same_size": obj(replica(mtime=MTIME - 60)),
    "grown": obj(replica(size=SIZE - 40)),
    "shrunk": obj(replica(size=SIZE + 40)),
    "changed_no_replica_on_resource": obj(replica("otherResc", size=SIZE - 1)),
    "unchanged_no_replica_on_resource": obj(replica("otherResc")),
}
OPERATIONS = (
    Operation.REGISTER_SYNC,
    Operation.REGISTER_AS_REPLICA_SYNC,
    Operation.PUT,
    Operation.PUT_SYNC,
    Operation.PUT_APPEND,
    Operation.NO_OP,
)
# Expected action per state, in OPERATIONS order.
EXPECTED: dict[str, tuple[Action, ...]] = {
    "none": (R, R, U, U, U, H),
    "collection": (C, C, C, C, C, C),
    "unchanged": (S, S, S, S, S, S),
    "rewritten_same_size": (X, X, S, W, W, H),
    "grown": (X, X, S, W, A, H),
    "shrunk": (X, X, S, W, W, H),
    "changed_no_replica_on_resource": (C, RR, S, C, C, H),
    "unchanged_no_replica_on_resource": (S, RR, S, S, S, S),
}
MATRIX = [
    pytest.param(state, op, action, id=f"{state}-{op.name}-{action.name.lower()}")
    for state, actions in EXPECTED.items()
    for op, action in zip(OPERATIONS, actions, strict=True)
]


@pytest.mark.parametrize(("state", "operation", "expected"), MATRIX)
def test_file_entry_against_catalog_state_gets_the_old_frameworks_action(
    state: str, operation: Operation, expected: Action
) -> None:
    decision = plan(entry(), STATES[state], operation, to_resource=RESC)
    assert decision.action is expected, decision.reason
    assert decision.reason


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_every_operation_skips_an_unchanged_object_without_to_resource(operation: Operation) -> None:
    assert plan(entry(), obj(), operation).action is Action.SKIP


@pytest.mark.parametrize(
    ("operation", "expected"),
    [
        (Operation.REGISTER_SYNC, Action.UPDATE),
        (Operation.PUT, Action.SKIP),
        (Operation.PUT_SYNC, Action.OVERWRITE),
        (Operation.PUT_APPEND, Action.APPEND),
        (Operation.NO_OP, Action.HOOKS_ONLY),
    ],
    ids=lambda v: getattr(v, "name", v),
)
def test_changed_object_without_to_resource_uses_any_replica(operation: Operation, expected: Action) -> None:
    catalog = obj(replica("someResc;leaf", size=SIZE - 10))
    assert plan(entry(), catalog, operation).action is expected


def test_register_sync_without_replica_on_resource_is_a_conflict_naming_the_resource() -> None:
    decision = plan(entry(), STATES["changed_no_replica_on_resource"], Operation.REGISTER_SYNC, to_resource=RESC)
    assert decision.action is Action.CONFLICT
    assert RESC in decision.reason


def test_put_never_modifies_an_existing_object() -> None:
    decision = plan(entry(), STATES["grown"], Operation.PUT, to_resource=RESC)
    assert decision.action is Action.SKIP
    assert decision.reason == "PUT never modifies an existing object"


def test_file_where_a_collection_exists_is_a_conflict_even_for_no_op() -> None:
    assert plan(entry(), COLLECTION, Operation.NO_OP).action is Action.CONFLICT


def test_append_carries_the_replica_whose_size_is_the_append_offset() -> None:
    decision = plan(entry(), STATES["grown"], Operation.PUT_APPEND, to_resource=RESC)
    assert decision.action is Action.APPEND
    assert decision.replica is not None and decision.replica.size == SIZE - 40


def test_append_falls_back_to_overwrite_when_source_shrank() -> None:
    decision = plan(entry(size=10), obj(replica(size=50)), Operation.PUT_APPEND)
    assert decision.action is Action.OVERWRITE
    assert "shrank" in decision.reason


def test_append_falls_back_to_overwrite_when_source_rewritten_with_same_size() -> None:
    decision = plan(entry(mtime=MTIME + 5), obj(), Operation.PUT_APPEND)
    assert decision.action is Action.OVERWRITE


@pytest.mark.parametrize(
    ("decision_state", "operation", "event"),
    [
        ("none", Operation.REGISTER_SYNC, DATA_OBJ_CREATE),
        ("none", Operation.PUT, DATA_OBJ_CREATE),
        ("none", Operation.NO_OP, DATA_OBJ_CREATE),
        ("grown", Operation.REGISTER_SYNC, DATA_OBJ_MODIFY),
        ("grown", Operation.PUT_APPEND, DATA_OBJ_MODIFY),
        ("grown", Operation.NO_OP, DATA_OBJ_MODIFY),
        ("unchanged_no_replica_on_resource", Operation.REGISTER_AS_REPLICA_SYNC, DATA_OBJ_CREATE),
        ("unchanged", Operation.REGISTER_SYNC, None),
        ("grown", Operation.PUT, None),
        ("collection", Operation.PUT, None),
    ],
)
def test_decision_names_the_hook_event_the_old_framework_fires(
    decision_state: str, operation: Operation, event: str | None
) -> None:
    assert plan(entry(), STATES[decision_state], operation, to_resource=RESC).event == event


def test_mtime_is_compared_as_whole_seconds() -> None:
    assert plan(entry(mtime=MTIME + 0.9), obj(), Operation.REGISTER_SYNC).action is Action.SKIP


@pytest.mark.parametrize(
    ("catalog", "expected"),
    [
        (obj(replica(size=SIZE + 1)), Action.SKIP),
        (obj(), Action.SKIP),
    ],
    ids=["size-differs-but-checksums-match", "same-size-checksums-match"],
)
def test_matching_checksum_means_unchanged(catalog: CatalogObject, expected: Action) -> None:
    assert plan(entry(), catalog, Operation.PUT_SYNC, checksum_match=True).action is expected


@pytest.mark.parametrize(
    ("operation", "expected"),
    [(Operation.REGISTER_SYNC, Action.UPDATE), (Operation.PUT_SYNC, Action.OVERWRITE)],
    ids=lambda v: getattr(v, "name", v),
)
def test_differing_checksum_means_changed_even_with_same_size_and_mtime(operation: Operation, expected: Action) -> None:
    assert plan(entry(), obj(), operation, checksum_match=False).action is expected


def test_put_append_with_differing_checksum_and_same_size_overwrites() -> None:
    assert plan(entry(), obj(), Operation.PUT_APPEND, checksum_match=False).action is Action.OVERWRITE


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_initial_ingest_treats_an_existing_path_as_new(operation: Operation) -> None:
    decision = plan(entry(), obj(), operation, initial_ingest=True)
    assert decision.action is plan(entry(), None, operation).action
    assert decision.event == DATA_OBJ_CREATE


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_directory_where_a_data_object_exists_is_a_conflict(operation: Operation) -> None:
    assert plan(entry(kind=EntryKind.DIRECTORY), obj(), operation).action is Action.CONFLICT


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_new_directory_creates_its_collection_or_only_fires_hooks_for_no_op(operation: Operation) -> None:
    decision = plan(entry(kind=EntryKind.DIRECTORY), None, operation)
    expected = Action.HOOKS_ONLY if operation is Operation.NO_OP else Action.CREATE_COLLECTION
    assert (decision.action, decision.event) == (expected, COLL_CREATE)


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.name)
def test_directory_with_existing_collection_is_skipped(operation: Operation) -> None:
    assert plan(entry(kind=EntryKind.DIRECTORY), COLLECTION, operation).action is Action.SKIP


@pytest.mark.parametrize("kind", [EntryKind.LINK, EntryKind.SOCKET, EntryKind.PIPE], ids=lambda k: k.value)
def test_non_directory_kinds_are_planned_like_files(kind: EntryKind) -> None:
    assert plan(entry(kind=kind), None, Operation.REGISTER_SYNC).action is Action.REGISTER
    expected = Action.UPLOAD if kind is EntryKind.LINK else Action.SKIP_SPECIAL  # a link uploads its target
    assert plan(entry(kind=kind), None, Operation.PUT).action is expected


@pytest.mark.parametrize(
    ("hierarchy", "to_resource", "matches"),
    [
        ("rootResc;leafResc", "rootResc", True),
        ("rootResc;leafResc", "leafResc", True),
        ("rootResc;leafResc", "rootResc;leafResc", True),
        ("rootResc;midResc;leafResc", "midResc", True),
        ("rootResc;midResc;leafResc", "rootResc;midResc", True),
        ("plainResc", "plainResc", True),
        ("rootResc;leafResc", "root", False),
        ("rootResc;leafResc", "rootResc;other", False),
        ("rootResc;leafResc", "leafResc;rootResc", False),
    ],
)
def test_to_resource_matches_any_level_of_the_replica_hierarchy(
    hierarchy: str, to_resource: str, matches: bool
) -> None:
    assert resource_matches(replica(hierarchy), to_resource) is matches


@pytest.mark.parametrize("to_resource", ["rootResc", "leafResc", "rootResc;leafResc"])
def test_update_found_through_root_leaf_or_full_hierarchy(to_resource: str) -> None:
    catalog = obj(replica("rootResc;leafResc", size=1))
    assert plan(entry(), catalog, Operation.REGISTER_SYNC, to_resource=to_resource).action is Action.UPDATE


def test_change_is_judged_on_the_replica_on_to_resource_not_other_replicas() -> None:
    catalog = obj(replica("otherResc", size=1, number=0), replica(f"{RESC};leaf1", number=1))
    decision = plan(entry(), catalog, Operation.PUT_SYNC, to_resource=RESC)
    assert decision.action is Action.SKIP
    assert decision.replica is not None and decision.replica.number == 1


def test_without_to_resource_change_is_judged_on_the_first_good_replica() -> None:
    catalog = obj(replica(size=1, number=0, status="0"), replica(number=1, status="1"))
    assert plan(entry(), catalog, Operation.PUT_SYNC).action is Action.SKIP


def test_register_as_replica_without_to_resource_cannot_update_an_existing_object() -> None:
    decision = plan(entry(), STATES["grown"], Operation.REGISTER_AS_REPLICA_SYNC)
    assert decision.action is Action.CONFLICT
    assert "to_resource" in decision.reason


def test_register_as_replica_without_to_resource_registers_a_new_path() -> None:
    assert plan(entry(), None, Operation.REGISTER_AS_REPLICA_SYNC).action is Action.REGISTER


@pytest.mark.parametrize("operation", [Operation.REGISTER_SYNC, Operation.REGISTER_AS_REPLICA_SYNC])
def test_update_refused_when_no_replica_on_resource_has_the_registered_physical_path(
    operation: Operation,
) -> None:
    catalog = obj(replica(size=1, physical_path="/elsewhere/file.dat"))
    decision = plan(entry(), catalog, operation, to_resource=RESC, physical_path=PATH)
    assert decision.action is Action.CONFLICT
    assert "wrong resource or path" in decision.reason


def test_update_allowed_when_a_replica_on_resource_has_the_registered_physical_path() -> None:
    catalog = obj(replica(size=1, physical_path="/elsewhere/x"), replica(size=1, number=1))
    decision = plan(entry(), catalog, Operation.REGISTER_SYNC, to_resource=RESC, physical_path=PATH)
    assert decision.action is Action.UPDATE
    assert decision.replica is not None and decision.replica.number == 1


def test_no_op_does_not_refire_for_a_file_unchanged_since_the_last_pass() -> None:
    decision = plan(entry(mtime=100, ctime=100), None, Operation.NO_OP, changed_since=200)
    assert decision.action is Action.SKIP


def test_no_op_fires_create_hooks_for_a_file_changed_since_the_last_pass() -> None:
    decision = plan(entry(mtime=300, ctime=300), None, Operation.NO_OP, changed_since=200)
    assert (decision.action, decision.event) == (Action.HOOKS_ONLY, DATA_OBJ_CREATE)


def test_metadata_only_change_since_the_last_pass_fires_modify_hooks() -> None:
    decision = plan(entry(ctime=300), obj(), Operation.REGISTER_SYNC, changed_since=200)
    assert (decision.action, decision.event) == (Action.HOOKS_ONLY, DATA_OBJ_MODIFY)


def test_directory_touched_since_the_last_pass_fires_coll_modify_hooks() -> None:
    d = entry(kind=EntryKind.DIRECTORY, mtime=300)
    decision = plan(d, COLLECTION, Operation.REGISTER_SYNC, changed_since=200)
    assert (decision.action, decision.event) == (Action.HOOKS_ONLY, COLL_MODIFY)


@pytest.mark.parametrize("mode", [DeleteMode.UNREGISTER, DeleteMode.TRASH, DeleteMode.NO_TRASH])
@pytest.mark.parametrize(
    ("catalog", "event"), [(obj(), DATA_OBJ_DELETE), (COLLECTION, COLL_DELETE)], ids=["object", "collection"]
)
def test_plan_delete_deletes_with_any_delete_mode_but_do_not_delete(
    catalog: CatalogState, event: str, mode: DeleteMode
) -> None:
    decision = plan_delete(catalog, mode)
    assert (decision.action, decision.event) == (Action.DELETE, event)
    assert mode.name in decision.reason


@pytest.mark.parametrize("catalog", [obj(), COLLECTION, None], ids=["object", "collection", "none"])
def test_plan_delete_keeps_everything_with_do_not_delete(catalog: CatalogState) -> None:
    assert plan_delete(catalog, DeleteMode.DO_NOT_DELETE).action is Action.SKIP


@pytest.mark.parametrize("mode", list(DeleteMode), ids=lambda m: m.name)
def test_plan_delete_skips_when_nothing_is_in_the_catalog(mode: DeleteMode) -> None:
    assert plan_delete(None, mode).action is Action.SKIP


COMPATIBILITY = [pytest.param(op, mode, id=f"{op.name}-{mode.name}") for op in Operation for mode in DeleteMode]


@pytest.mark.parametrize(("operation", "mode"), COMPATIBILITY)
def test_check_compatible_refuses_exactly_the_incompatible_pairs(operation: Operation, mode: DeleteMode) -> None:
    if is_compatible(operation, mode):
        check_compatible(operation, mode)
        return
    with pytest.raises(ConfigError) as info:
        check_compatible(operation, mode)
    assert operation.name in str(info.value) and mode.name in str(info.value)
    assert isinstance(info.value, LzIngestError)


def test_compatibility_table_matches_the_old_framework() -> None:
    compatible = {(op.name, mode.name) for op in Operation for mode in DeleteMode if is_compatible(op, mode)}
    assert compatible == {
        ("NO_OP", "DO_NOT_DELETE"),
        ("REGISTER_SYNC", "DO_NOT_DELETE"),
        ("REGISTER_SYNC", "UNREGISTER"),
        ("REGISTER_AS_REPLICA_SYNC", "DO_NOT_DELETE"),
        ("REGISTER_AS_REPLICA_SYNC", "UNREGISTER"),
        ("PUT", "DO_NOT_DELETE"),
        ("PUT_SYNC", "DO_NOT_DELETE"),
        ("PUT_SYNC", "TRASH"),
        ("PUT_SYNC", "NO_TRASH"),
        ("PUT_APPEND", "DO_NOT_DELETE"),
        ("PUT_APPEND", "TRASH"),
        ("PUT_APPEND", "NO_TRASH"),
    }


@pytest.mark.parametrize("kind", [EntryKind.PIPE, EntryKind.SOCKET, EntryKind.CHARACTER, EntryKind.BLOCK])
@pytest.mark.parametrize("operation", [Operation.PUT, Operation.PUT_SYNC, Operation.PUT_APPEND], ids=lambda o: o.name)
def test_a_special_file_is_skipped_by_put_types_and_registered_otherwise(kind: EntryKind, operation: Operation) -> None:
    decision = plan(entry(kind=kind), None, operation)
    assert decision.action is Action.SKIP_SPECIAL and kind.value in decision.reason
    assert plan(entry(kind=kind), None, Operation.REGISTER_SYNC).action is Action.REGISTER
